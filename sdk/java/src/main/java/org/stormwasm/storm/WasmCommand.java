package org.stormwasm.storm;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Builds the command line Storm runs for a WebAssembly component:
 * {@code <binary> bolt|spout <plugin> --serializer auto --storm-metrics}.
 *
 * <p>Both paths are made absolute because Storm starts the subprocess with {@link ProcessBuilder}: a command without a
 * {@code /} is searched only in the worker JVM's own PATH, and relative paths are resolved against the child's working
 * directory (the topology's {@code resources} directory), not the worker's.
 */
public final class WasmCommand {
    /** Topology configuration key holding the absolute path of the storm-wasm host binary (looked up first). */
    public static final String BINARY_CONF = "storm.wasm.binary";
    /** Environment variable of the worker holding the path of the storm-wasm binary (looked up second). */
    public static final String BINARY_ENV = "STORM_WASM_BIN";
    /** File name searched for in each directory of the worker's PATH (looked up last). */
    public static final String BINARY_NAME = "storm-wasm";

    private WasmCommand() {
    }

    /**
     * Finds the storm-wasm binary: the topology configuration key {@value #BINARY_CONF}, else the environment variable
     * {@value #BINARY_ENV}, else an executable {@value #BINARY_NAME} in a directory of {@code PATH}. A value that is
     * set but wrong is an error, not a reason to look further: the user asked for that file.
     *
     * @param conf the topology configuration
     * @param env  the environment of the worker ({@code System.getenv()})
     * @return the absolute path of an executable regular file
     * @throws IllegalStateException with a message naming what to set when nothing usable is found
     */
    public static Path locateBinary(Map<String, ?> conf, Map<String, String> env) {
        Object configured = conf.get(BINARY_CONF);
        if (configured != null && !configured.toString().isBlank()) {
            return checkExecutable(configured.toString(), "the topology configuration key " + BINARY_CONF);
        }
        String fromEnv = env.get(BINARY_ENV);
        if (fromEnv != null && !fromEnv.isBlank()) {
            return checkExecutable(fromEnv, "the environment variable " + BINARY_ENV);
        }
        String path = env.getOrDefault("PATH", "");
        for (String dir : path.split(File.pathSeparator)) {
            if (dir.isEmpty()) {
                continue;
            }
            Path candidate = Path.of(dir, BINARY_NAME).toAbsolutePath();
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                return candidate;
            }
        }
        throw new IllegalStateException("Cannot find the storm-wasm host binary. Set the topology configuration key "
            + BINARY_CONF + " (or the environment variable " + BINARY_ENV + " of the Storm worker) to its "
            + "absolute path, "
            + "or put an executable file named " + BINARY_NAME + " in a directory of the worker's PATH (PATH=" + path
            + ").");
    }

    private static Path checkExecutable(String value, String source) {
        Path binary = Path.of(value).toAbsolutePath();
        String problem = null;
        if (!Files.exists(binary)) {
            problem = "does not exist on this host";
        } else if (!Files.isRegularFile(binary)) {
            problem = "is not a regular file";
        } else if (!Files.isExecutable(binary)) {
            // The usual cause: files extracted from a topology jar's resources/ lose their execute bit.
            problem = "is not executable (chmod +x it; files extracted from a topology jar lose the execute bit)";
        }
        if (problem != null) {
            throw new IllegalStateException("The storm-wasm host binary " + binary + " given by " + source + " "
                + problem + ". Fix " + source + " to point to the storm-wasm executable (absolute path).");
        }
        return binary;
    }

    /**
     * Resolves a plugin name to an absolute path. An absolute path is used as is; a relative one is looked up
     * <ol>
     *   <li>in the topology's resources directory ({@code codeDir}, where {@code resources/} of the topology jar is
     *       extracted and ShellBolt's working directory),</li>
     *   <li>in its parent, the topology's directory on the supervisor ({@code supervisor/stormdist/<topology-id>}),
     *       where the supervisor links each blob of {@code topology.blobstore.map} under its {@code localname}
     *       (also in local mode),</li>
     *   <li>against the worker's working directory (handy in local mode).</li>
     * </ol>
     * Symbolic links are kept, not followed: the host watches the path it is given, and a blob's link is where a
     * {@code storm blobstore update} shows up (its target changes).
     *
     * @param plugin     the plugin as given to {@link WasmBolt} or {@link WasmSpout}
     * @param codeDir    {@code TopologyContext.getCodeDir()}, may be null
     * @param workingDir the worker's working directory
     * @return the absolute path of an existing regular file (or of a link to one)
     * @throws IllegalStateException naming every place that was tried
     */
    public static Path resolvePlugin(String plugin, String codeDir, Path workingDir) {
        List<Path> tried = new ArrayList<>();
        Path given = Path.of(plugin);
        if (given.isAbsolute()) {
            tried.add(given);
        } else {
            if (codeDir != null) {
                Path code = Path.of(codeDir).toAbsolutePath();
                tried.add(code.resolve(given));
                if (code.getParent() != null) {
                    tried.add(code.getParent().resolve(given));
                }
            }
            tried.add(workingDir.resolve(given).toAbsolutePath());
        }
        for (Path candidate : tried) {
            if (Files.isRegularFile(candidate)) {
                return candidate.normalize();
            }
        }
        throw new IllegalStateException("WebAssembly plugin " + plugin + " not found; looked for " + tried
            + ". Pass an absolute path that exists on every worker host, ship the plugin in the topology jar's "
            + "resources/ directory and pass its name relative to it, or map a blob to it in topology.blobstore.map "
            + "(without \"uncompress\") and pass its localname.");
    }

    /**
     * The command line for one component.
     *
     * @param binary the storm-wasm binary ({@link #locateBinary})
     * @param kind   {@code "bolt"} or {@code "spout"}
     * @param plugin the plugin ({@link #resolvePlugin})
     * @return {@code <binary> <kind> <plugin> --serializer auto --storm-metrics}
     */
    public static String[] command(Path binary, String kind, Path plugin) {
        // "auto": the host tells JSON from MessagePack by the handshake's first byte, so the command need not
        // change with topology.multilang.serializer. "--storm-metrics": the caller registered
        // WasmComponent.HOST_METRICS, so the host may report swaps, rollbacks and refusals to Storm.
        return new String[] {binary.toString(), kind, plugin.toString(), "--serializer", "auto", "--storm-metrics"};
    }
}
