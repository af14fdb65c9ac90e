package org.stormwasm.storm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WasmCommandTest {
    @TempDir
    Path dir;
    private Path binDir;
    private Path binary;

    @BeforeEach
    void makeBinary() throws IOException {
        binDir = Files.createDirectories(dir.resolve("bin"));
        binary = Files.writeString(binDir.resolve("storm-wasm"), "#!/bin/sh\n");
        assertTrue(binary.toFile().setExecutable(true));
    }

    private static String messageOf(Runnable call) {
        return assertThrows(IllegalStateException.class, call::run).getMessage();
    }

    @Test
    void confKeyComesFirst() throws IOException {
        Path other = Files.copy(binary, dir.resolve("other"));
        assertTrue(other.toFile().setExecutable(true));
        assertEquals(other, WasmCommand.locateBinary(Map.of("storm.wasm.binary", other.toString()),
            Map.of("STORM_WASM_BIN", binary.toString(), "PATH", binDir.toString())));
    }

    @Test
    void envVarComesSecond() {
        assertEquals(binary, WasmCommand.locateBinary(Map.of(),
            Map.of("STORM_WASM_BIN", binary.toString(), "PATH", "/nonexistent")));
    }

    @Test
    void pathComesLast() {
        assertEquals(binary, WasmCommand.locateBinary(Map.of(), Map.of("PATH", "/nonexistent::" + binDir)));
    }

    @Test
    void missingEverywhereNamesAllThreeWays() {
        String message = messageOf(() -> WasmCommand.locateBinary(Map.of(), Map.of("PATH", "/nonexistent")));
        assertTrue(message.contains("storm.wasm.binary"), message);
        assertTrue(message.contains("STORM_WASM_BIN"), message);
        assertTrue(message.contains("PATH=/nonexistent"), message);
    }

    @Test
    void aWrongConfKeyIsReportedNotSkipped() {
        String message = messageOf(() -> WasmCommand.locateBinary(
            Map.of("storm.wasm.binary", dir.resolve("nope").toString()), Map.of("STORM_WASM_BIN", binary.toString())));
        assertTrue(message.contains("does not exist"), message);
        assertTrue(message.contains("topology configuration key storm.wasm.binary"), message);
    }

    @Test
    void aNonExecutableEnvBinaryIsReported() throws IOException {
        Path plain = Files.writeString(dir.resolve("plain"), "");
        String message = messageOf(() ->
            WasmCommand.locateBinary(Map.of(), Map.of("STORM_WASM_BIN", plain.toString())));
        assertTrue(message.contains("is not executable"), message);
        assertTrue(message.contains("environment variable STORM_WASM_BIN"), message);
    }

    @Test
    void aDirectoryIsNotABinary() {
        String message = messageOf(() -> WasmCommand.locateBinary(Map.of("storm.wasm.binary", binDir.toString()),
            Map.of()));
        assertTrue(message.contains("is not a regular file"), message);
    }

    @Test
    void pluginResolution() throws IOException {
        Path codeDir = Files.createDirectories(dir.resolve("resources"));
        Path inCode = Files.writeString(codeDir.resolve("a.wasm"), "");
        Path work = Files.createDirectories(dir.resolve("work"));
        Path inWork = Files.writeString(Files.createDirectories(work.resolve("p")).resolve("b.wasm"), "");

        assertEquals(inCode, WasmCommand.resolvePlugin(inCode.toString(), null, work));
        assertEquals(inCode, WasmCommand.resolvePlugin("a.wasm", codeDir.toString(), work));
        assertEquals(inWork, WasmCommand.resolvePlugin("p/b.wasm", codeDir.toString(), work));
        String message = messageOf(() -> WasmCommand.resolvePlugin("c.wasm", codeDir.toString(), work));
        assertTrue(message.contains(codeDir.resolve("c.wasm").toString()), message);
        assertTrue(message.contains(dir.resolve("c.wasm").toString()), message);
        assertTrue(message.contains(work.resolve("c.wasm").toString()), message);
        assertTrue(message.contains("topology.blobstore.map"), message);
    }

    @Test
    void aBlobIsFoundByItsLocalNameAndItsLinkIsKept() throws IOException {
        // The supervisor's layout: stormdist/<id>/resources (the code dir) and stormdist/<id>/<localname>, a link
        // into the blob cache whose target changes on each `storm blobstore update`.
        Path codeDir = Files.createDirectories(dir.resolve("stormdist/topo-1/resources"));
        Path cached = Files.writeString(Files.createDirectories(dir.resolve("cache")).resolve("counter.wasm.7"), "");
        Path link = Files.createSymbolicLink(dir.resolve("stormdist/topo-1/counter.wasm"), cached);
        Path work = Files.createDirectories(dir.resolve("work"));
        assertEquals(link, WasmCommand.resolvePlugin("counter.wasm", codeDir.toString(), work),
            "the link, not its target: the host watches it for the next version");
        // The jar's resources/ still come first.
        Path inCode = Files.writeString(codeDir.resolve("counter.wasm"), "");
        assertEquals(inCode, WasmCommand.resolvePlugin("counter.wasm", codeDir.toString(), work));
    }

    @Test
    void commandLine() {
        assertArrayEquals(
            new String[] {"/b/storm-wasm", "spout", "/p/x.wasm", "--serializer", "auto", "--storm-metrics"},
            WasmCommand.command(Path.of("/b/storm-wasm"), "spout", Path.of("/p/x.wasm")));
    }
}
