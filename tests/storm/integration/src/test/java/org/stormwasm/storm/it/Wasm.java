package org.stormwasm.storm.it;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.apache.storm.Config;
import org.apache.storm.LocalCluster;
import org.apache.storm.generated.KillOptions;
import org.stormwasm.storm.WasmCommand;

/** Environment, configuration and polling shared by the integration tests. */
final class Wasm {
    static final String BIN_ENV = "STORM_WASM_BIN";
    static final String PLUGINS_ENV = "STORM_WASM_PLUGINS";
    static final String JSON = "org.apache.storm.multilang.JsonSerializer";
    static final String MSGPACK = "org.stormwasm.storm.MessagePackSerializer";

    private Wasm() {
    }

    /** Whether the test script provided the host and the plugins. */
    static boolean configured() {
        return System.getenv(BIN_ENV) != null && System.getenv(PLUGINS_ENV) != null;
    }

    /** Skips the calling test, saying why, when the test script did not provide the host and plugins. */
    static void assumeConfigured() {
        assumeTrue(configured(),
            BIN_ENV + " and " + PLUGINS_ENV + " must both be set (the storm-wasm binary and the directory of the "
                + ".wasm plugins); the project's test script sets them. Skipping the Storm integration tests.");
    }

    /** The absolute path of a plugin in $STORM_WASM_PLUGINS; fails (not skips) if it is missing. */
    static String plugin(String fileName) {
        Path path = Path.of(System.getenv(PLUGINS_ENV), fileName).toAbsolutePath();
        assertTrue(Files.isRegularFile(path), "plugin " + path + " does not exist (" + PLUGINS_ENV + ")");
        return path.toString();
    }

    /** Topology configuration: one worker, the given multi-lang serializer, the recording log handler. */
    static Config conf(String serializer) {
        Config conf = new Config();
        conf.put(WasmCommand.BINARY_CONF, System.getenv(BIN_ENV));
        conf.put(Config.TOPOLOGY_MULTILANG_SERIALIZER, serializer);
        common(conf);
        return conf;
    }

    /** The settings every test topology gets (also the Flux one, which keeps its own serializer and binary lookup). */
    static void common(Config conf) {
        conf.put(Config.TOPOLOGY_MULTILANG_LOG_HANDLER, RecordingLogHandler.class.getName());
        conf.put(Config.TOPOLOGY_SUBPROCESS_TIMEOUT_SECS, 20);
        conf.setNumWorkers(1);
    }

    /** Polls {@code done} every 100 ms; fails with {@code state()} if it is not true within {@code timeout}. */
    static void await(String what, Duration timeout, BooleanSupplier done, Supplier<String> state)
        throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("Timed out after " + timeout.toSeconds() + " s waiting for " + what + "; state: " + state.get());
            }
            Thread.sleep(100);
        }
    }

    /** Kills a topology at once so the next one gets the CPU (2 cores). */
    static void kill(LocalCluster cluster, String name) throws Exception {
        KillOptions now = new KillOptions();
        now.set_wait_secs(0);
        cluster.killTopologyWithOpts(name, now);
    }
}
