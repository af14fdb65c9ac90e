package org.stormwasm.storm.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.apache.storm.Config;
import org.apache.storm.LocalCluster;
import org.apache.storm.flux.FluxBuilder;
import org.apache.storm.flux.model.ExecutionContext;
import org.apache.storm.flux.model.SpoutDef;
import org.apache.storm.flux.model.TopologyDef;
import org.apache.storm.flux.parser.FluxParser;
import org.apache.storm.generated.KillOptions;
import org.apache.storm.generated.StormTopology;
import org.apache.storm.generated.TopologySummary;
import org.apache.storm.topology.BasicBoltExecutor;
import org.apache.storm.topology.IRichBolt;
import org.apache.storm.topology.TopologyBuilder;
import org.apache.storm.tuple.Fields;
import org.apache.storm.utils.VersionInfo;
import org.stormwasm.storm.MessagePackSerializer;
import org.stormwasm.storm.WasmBolt;
import org.stormwasm.storm.WasmCommand;

/**
 * Runs the same word-count topology in one LocalCluster with four kinds of bolts, one after the other, and reports
 * the throughput of each and the ratios between them:
 * <pre>
 * BenchSentenceSpout → split (shuffle) → count (fields grouping on "word") → WordSink
 * </pre>
 * The spout and the sink are the same Java components in every variant; only split and count change: WASM plugins
 * with Storm's JSON serializer, the same with {@link MessagePackSerializer}, native Java bolts, and pystorm scripts
 * as ShellBolts (JSON). Each variant is warmed up, then measured over a fixed window: spout tuples acked per second
 * (whole tuple trees) and words counted per second (tuples reaching the sink).
 *
 * <p>Two more variants compare Storm with storm-wasm's native worker on one topology, the Flux file
 * {@code examples/word-count.yaml} (WASM sentence spout → split ×2 → count ×2, no sink, its own max spout pending):
 * {@code flux-msgpack} builds it with Storm's Flux and runs it in this LocalCluster (MessagePack serializer; the spout
 * class swapped for {@link CountingWasmSpout} to count acks), {@code native-worker} runs the same file with
 * {@code storm-wasm run} as a subprocess for the measured window (the LocalCluster idles meanwhile) and reads its
 * summary JSON. Neither has a sink, so their words/s are the count bolt's executed tuples (native worker) or not
 * measured (Flux).
 *
 * <p>The machine it was written for has 2 cores shared with other work, where interference only ever slows a
 * variant down. So every variant runs {@code bench.rounds} times, in the opposite order each round (so that a slow
 * stretch of the machine does not always hit the same variant), and the report uses each variant's best round.
 *
 * <p>Settings are system properties (all have defaults except the paths, which {@code run.sh} sets):
 * {@code bench.binary}, {@code bench.plugins}, {@code bench.python}, {@code bench.scripts}, {@code bench.output},
 * {@code bench.warmup.secs}, {@code bench.measure.secs}, {@code bench.rounds}, {@code bench.max.spout.pending},
 * {@code bench.parallelism}, {@code bench.variants} (comma-separated names), {@code bench.command} and
 * {@code bench.versions} (these two are only printed).
 */
public final class WordCountBenchmark {
    private static final String JSON = "org.apache.storm.multilang.JsonSerializer";
    private static final Duration START_TIMEOUT = Duration.ofSeconds(90);

    private WordCountBenchmark() {
    }

    /**
     * One way of running split and count. {@code serializer} is null for the native Java variant; {@code flux} is the
     * Flux file of the {@code flux-*} and {@code native-worker} variants, whose split and count suppliers are null.
     */
    record Variant(String name, String label, String serializer, Supplier<IRichBolt> split,
                   Supplier<IRichBolt> count, Path flux, boolean nativeWorker) {
        Variant(String name, String label, String serializer, Supplier<IRichBolt> split, Supplier<IRichBolt> count) {
            this(name, label, serializer, split, count, null, false);
        }
    }

    /** The measurements of one variant, or why it has none. */
    record Result(Variant variant, double sentencesPerSec, double wordsPerSec, double completeMs, long failed,
                  Cost cost, double otherCores, String error) {
        static Result none(Variant variant, String error) {
            return new Result(variant, Double.NaN, Double.NaN, Double.NaN, 0, null, Double.NaN, error);
        }
    }

    /** What one acked sentence cost: CPU microseconds of the JVM (and of it in the kernel), of the subprocesses. */
    record Cost(double jvmMicros, double jvmKernelMicros, double childMicros, double contextSwitches) {
        static Cost between(CpuSample start, CpuSample end, long sentences) {
            return new Cost(end.jvmCpuSecondsSince(start) * 1e6 / sentences,
                end.jvmKernelSecondsSince(start) * 1e6 / sentences,
                end.childCpuSecondsSince(start) * 1e6 / sentences,
                (double) end.contextSwitchesSince(start) / sentences);
        }
    }

    /** Benchmark settings from system properties. */
    record Settings(String binary, Path plugins, String python, Path scripts, Path output, int warmupSecs,
                    int measureSecs, int rounds, int maxSpoutPending, int parallelism, List<String> variants,
                    String command, String versions, Path flux, Path json) {
        static Settings fromSystemProperties() {
            return new Settings(
                required("bench.binary"),
                Path.of(required("bench.plugins")).toAbsolutePath(),
                required("bench.python"),
                Path.of(required("bench.scripts")).toAbsolutePath(),
                Path.of(System.getProperty("bench.output", "storm-localcluster-results.md")),
                Integer.getInteger("bench.warmup.secs", 10),
                Integer.getInteger("bench.measure.secs", 20),
                Integer.getInteger("bench.rounds", 2),
                Integer.getInteger("bench.max.spout.pending", 1000),
                Integer.getInteger("bench.parallelism", 2),
                List.of(System.getProperty("bench.variants", "java,wasm-msgpack,wasm-json,pystorm").split(",")),
                System.getProperty("bench.command", "tests/storm/benchmark/run.sh"),
                System.getProperty("bench.versions", ""),
                Path.of(System.getProperty("bench.flux", "examples/word-count.yaml")).toAbsolutePath(),
                System.getProperty("bench.json") == null ? null : Path.of(System.getProperty("bench.json")));
        }

        private static String required(String key) {
            String value = System.getProperty(key);
            if (value == null || value.isBlank()) {
                throw new IllegalArgumentException("system property " + key + " is not set (run.sh sets it)");
            }
            return value;
        }
    }

    /**
     * Runs the benchmark.
     *
     * @param args ignored; see the class comment for the settings
     * @throws Exception when LocalCluster cannot start or the report cannot be written
     */
    public static void main(String[] args) throws Exception {
        Settings settings = Settings.fromSystemProperties();
        List<Variant> variants = new ArrayList<>();
        for (String name : settings.variants()) {
            variants.add(variant(name.trim(), settings));
        }
        Map<Variant, List<Result>> rounds = new LinkedHashMap<>();
        variants.forEach(v -> rounds.put(v, new ArrayList<>()));
        try (LocalCluster cluster = new LocalCluster()) {
            for (int round = 1; round <= settings.rounds(); round++) {
                List<Variant> order = new ArrayList<>(variants);
                if (round % 2 == 0) {
                    Collections.reverse(order);
                }
                for (Variant variant : order) {
                    Result result = run(cluster, variant, round, settings);
                    if (result.error() != null) {
                        log(variant, "no numbers: " + result.error() + " (see Storm's log)");
                    }
                    rounds.get(variant).add(result);
                }
            }
            String report = report(settings, rounds);
            System.out.println();
            System.out.println(report);
            Files.writeString(settings.output(), report);
            if (settings.json() != null) {
                Files.writeString(settings.json(), json(settings, rounds));
            }
            System.out.println("(written to " + settings.output().toAbsolutePath() + ")");
            if (System.getProperty("bench.log") != null) {
                System.out.println("(Storm's log: " + System.getProperty("bench.log") + ")");
            }
        }
        // Storm leaves non-daemon threads behind; the exit status says whether every run produced numbers.
        boolean allOk = rounds.values().stream().flatMap(List::stream).allMatch(r -> r.error() == null);
        System.exit(allOk ? 0 : 1);
    }

    static Variant variant(String name, Settings s) {
        String split = s.plugins().resolve("split_sentence.wasm").toString();
        String count = s.plugins().resolve("word_count.wasm").toString();
        String splitPy = s.scripts().resolve("split.py").toString();
        String countPy = s.scripts().resolve("count.py").toString();
        return switch (name) {
            case "java" -> new Variant(name, "native Java bolts", null,
                () -> new BasicBoltExecutor(new JavaBolts.SplitSentence()),
                () -> new BasicBoltExecutor(new JavaBolts.WordCount()));
            case "wasm-msgpack" -> new Variant(name, "WASM bolts, MessagePack", MessagePackSerializer.class.getName(),
                () -> new WasmBolt(split, "word"), () -> new WasmBolt(count, "word", "count"));
            case "wasm-json" -> new Variant(name, "WASM bolts, JSON", JSON,
                () -> new WasmBolt(split, "word"), () -> new WasmBolt(count, "word", "count"));
            case "pystorm" -> new Variant(name, "pystorm bolts (ShellBolt), JSON", JSON,
                () -> new PystormBolt(s.python(), splitPy, "word"),
                () -> new PystormBolt(s.python(), countPy, "word", "count"));
            case "flux-msgpack" -> new Variant(name, "Flux file on LocalCluster, MessagePack",
                MessagePackSerializer.class.getName(), null, null, s.flux(), false);
            case "flux-json" -> new Variant(name, "Flux file on LocalCluster, JSON", JSON, null, null, s.flux(), false);
            case "native-worker" -> new Variant(name, "Flux file on the native worker (storm-wasm run)", null, null, null,
                s.flux(), true);
            default -> throw new IllegalArgumentException("unknown variant " + name
                + " (known: java, wasm-msgpack, wasm-json, pystorm, flux-msgpack, flux-json, native-worker)");
        };
    }

    static Result run(LocalCluster cluster, Variant variant, int round, Settings s) throws Exception {
        if (variant.nativeWorker()) {
            return runNativeWorker(variant, round, s);
        }
        String topology = "wc-" + variant.name() + "-" + round;
        Counters counters = Counters.of(topology);
        Config conf = new Config();
        StormTopology built;
        if (variant.flux() != null) {
            // The file's topology and config, as `storm jar … Flux` would build them; only the spout class changes.
            TopologyDef def = FluxParser.parseFile(variant.flux().toString(), false, true, new Properties(), true);
            for (SpoutDef spout : def.getSpouts()) {
                spout.setClassName(CountingWasmSpout.class.getName());
            }
            conf.putAll(FluxBuilder.buildConfig(def));
            built = FluxBuilder.buildTopology(new ExecutionContext(def, conf));
        } else {
            TopologyBuilder builder = new TopologyBuilder();
            builder.setSpout("sentences", new BenchSentenceSpout(topology), 1);
            builder.setBolt("split", variant.split().get(), s.parallelism()).shuffleGrouping("sentences");
            builder.setBolt("count", variant.count().get(), s.parallelism())
                .fieldsGrouping("split", new Fields("word"));
            builder.setBolt("sink", new WordSink(topology), 1).shuffleGrouping("count");
            conf.setMaxSpoutPending(s.maxSpoutPending());
            built = builder.createTopology();
        }
        conf.setNumWorkers(1);
        conf.put(WasmCommand.BINARY_CONF, s.binary());
        if (variant.serializer() != null) {
            conf.put(Config.TOPOLOGY_MULTILANG_SERIALIZER, variant.serializer());
        }

        log(variant, "round " + round + ": submitting");
        long submitted = System.nanoTime();
        cluster.submitTopology(topology, conf, built);
        try {
            // Startup (subprocess launch, plugin load) is not part of the measurement: wait for the first tree.
            long deadline = submitted + START_TIMEOUT.toNanos();
            while (counters.acked.sum() == 0) {
                if (System.nanoTime() > deadline) {
                    return Result.none(variant, "no spout tuple acked within " + START_TIMEOUT.toSeconds() + " s");
                }
                Thread.sleep(50);
            }
            log(variant, String.format(Locale.ROOT, "first tuple acked %.1f s after submit; warming up %d s",
                (System.nanoTime() - submitted) / 1e9, s.warmupSecs()));
            Thread.sleep(s.warmupSecs() * 1000L);

            Counters.Snapshot c0 = counters.snapshot();
            CpuSample cpu0 = CpuSample.take();
            Thread.sleep(s.measureSecs() * 1000L);
            Counters.Snapshot c1 = counters.snapshot();
            CpuSample cpu1 = CpuSample.take();

            double secs = (c1.nanoTime() - c0.nanoTime()) / 1e9;
            long acked = c1.acked() - c0.acked();
            if (acked == 0) {
                return Result.none(variant, "no spout tuple acked in the window");
            }
            // The Flux topology has no sink, and its WASM spout does not report emit times.
            boolean flux = variant.flux() != null;
            Result result = new Result(variant, acked / secs, flux ? Double.NaN : (c1.words() - c0.words()) / secs,
                flux ? Double.NaN : (c1.completeNanos() - c0.completeNanos()) / 1e6 / acked, c1.failed() - c0.failed(),
                Cost.between(cpu0, cpu1, acked), cpu1.otherCoresSince(cpu0), null);
            log(variant, String.format(Locale.ROOT, "%.0f sentences/s, %.0f words/s, %d failed",
                result.sentencesPerSec(), result.wordsPerSec(), result.failed()));
            return result;
        } finally {
            stop(cluster, topology);
        }
    }

    /**
     * Runs the Flux file with {@code storm-wasm run} for the measured window and reads its summary: spout messages
     * acked per second over the run (from the go; plugins are loaded before it), the count bolt's executed tuples as
     * words. Its CPU is the subprocess's, sampled until it exits. No warm-up: the native worker has no JIT, and its
     * plugins come from the compile cache, so its ramp-up is milliseconds (and counted against it).
     */
    static Result runNativeWorker(Variant variant, int round, Settings s) throws Exception {
        Path summary = Files.createTempFile("native-worker-summary", ".json");
        try {
            List<String> command = List.of(s.binary(), "run", variant.flux().toString(), "--duration",
                s.measureSecs() + "s", "--report-every", "0", "--summary-json", summary.toString());
            log(variant, "round " + round + ": " + String.join(" ", command));
            CpuSample cpu0 = CpuSample.take();
            Process process = new ProcessBuilder(command).inheritIO().start();
            Duration childCpu = Duration.ZERO;
            while (!process.waitFor(100, java.util.concurrent.TimeUnit.MILLISECONDS)) {
                childCpu = process.toHandle().info().totalCpuDuration().orElse(childCpu);
            }
            CpuSample cpu1 = CpuSample.take();
            if (process.exitValue() != 0) {
                return Result.none(variant, "storm-wasm run exited with " + process.exitValue());
            }
            String json = Files.readString(summary);
            double ranSecs = number(json, "\"ran_secs\"\\s*:\\s*([0-9.eE+-]+)");
            Matcher messages = Pattern.compile("\"messages\"\\s*:\\s*\\{([^}]*)\\}").matcher(json);
            if (!messages.find() || Double.isNaN(ranSecs)) {
                return Result.none(variant, "no messages or ran_secs in the summary " + json);
            }
            double acked = number(messages.group(1), "\"acked\"\\s*:\\s*(\\d+)");
            double failed = number(messages.group(1), "\"failed\"\\s*:\\s*(\\d+)");
            Matcher count = Pattern.compile("\\{[^{}]*\"id\"\\s*:\\s*\"count\"[^{}]*\\}").matcher(json);
            double words = count.find() ? number(count.group(), "\"executed\"\\s*:\\s*(\\d+)") : Double.NaN;
            if (!(acked > 0)) {
                return Result.none(variant, "no spout message acked: " + json);
            }
            // The subprocess is gone by the second sample, so the JVM's figure counts it as other load.
            double wallSecs = (cpu1.nanoTime() - cpu0.nanoTime()) / 1e9;
            double other = Math.max(0, cpu1.otherCoresSince(cpu0) - childCpu.toNanos() / 1e9 / wallSecs);
            Cost cost = new Cost(0, 0, childCpu.toNanos() / 1e3 / acked, Double.NaN);
            Result result = new Result(variant, acked / ranSecs, words / ranSecs, Double.NaN, (long) failed, cost,
                other, null);
            log(variant, String.format(Locale.ROOT, "%.0f sentences/s, %.0f words/s, %d failed",
                result.sentencesPerSec(), result.wordsPerSec(), result.failed()));
            return result;
        } finally {
            Files.deleteIfExists(summary);
        }
    }

    private static double number(String text, String regex) {
        Matcher m = Pattern.compile(regex).matcher(text);
        return m.find() ? Double.parseDouble(m.group(1)) : Double.NaN;
    }

    /** Kills the topology and waits until it and its subprocesses are gone, so the next variant has the CPU. */
    private static void stop(LocalCluster cluster, String topology) throws Exception {
        KillOptions now = new KillOptions();
        now.set_wait_secs(0);
        cluster.killTopologyWithOpts(topology, now);
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline && (isListed(cluster, topology)
            || ProcessHandle.current().descendants().anyMatch(ProcessHandle::isAlive))) {
            Thread.sleep(200);
        }
    }

    private static boolean isListed(LocalCluster cluster, String topology) throws Exception {
        for (TopologySummary summary : cluster.getClusterInfo().get_topologies()) {
            if (summary.get_name().equals(topology)) {
                return true;
            }
        }
        return false;
    }

    private static void log(Variant variant, String message) {
        System.out.printf("[%s] %s%n", variant.name(), message);
    }

    /** The round with the most sentences acked per second, else (all failed) the first. */
    private static Result best(List<Result> rounds) {
        return rounds.stream().filter(r -> r.error() == null)
            .max(Comparator.comparingDouble(Result::sentencesPerSec))
            .orElse(rounds.get(0));
    }

    /** The Markdown report: context, the table of each variant's best round, and the ratios. */
    static String report(Settings s, Map<Variant, List<Result>> rounds) {
        List<Result> results = rounds.values().stream().map(WordCountBenchmark::best).toList();
        StringBuilder md = new StringBuilder();
        md.append("Date: ").append(ZonedDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ofPattern(
            "yyyy-MM-dd HH:mm 'UTC'"))).append("  \n");
        md.append("Machine: ").append(Machine.describe()).append("  \n");
        md.append("Software: Storm ").append(VersionInfo.getVersion()).append(" LocalCluster, Java ")
            .append(System.getProperty("java.version"));
        if (!s.versions().isBlank()) {
            md.append(", ").append(s.versions());
        }
        md.append("  \n");
        md.append("Command: `").append(s.command()).append("`  \n");
        md.append(String.format(Locale.ROOT, "Settings: %d rounds (best round reported), warm-up %d s, window %d s, "
            + "max spout pending %d, split and count %d tasks each, 1 worker, 1 acker%n%n", s.rounds(),
            s.warmupSecs(), s.measureSecs(), s.maxSpoutPending(), s.parallelism()));
        if (rounds.keySet().stream().anyMatch(v -> v.flux() != null)) {
            md.append("Flux variants: `").append(s.flux().getFileName()).append("` as written: ")
                .append(describeFlux(s.flux())).append("; the native worker runs it for the window with no warm-up")
                .append(" (its CPU column is the storm-wasm process alone)\n\n");
        }

        md.append("| variant | sentences acked/s | words counted/s | avg complete latency (ms) | failed "
            + "| CPU µs per sentence: JVM + subprocesses | other load (cores) | sentences acked/s, each round |\n");
        md.append("|---|---:|---:|---:|---:|---:|---:|---|\n");
        for (Result r : results) {
            String each = rounds.get(r.variant()).stream()
                .map(x -> x.error() != null ? "failed: " + x.error()
                    : String.format(Locale.ROOT, "%,.0f", x.sentencesPerSec()))
                .collect(Collectors.joining(" / "));
            if (r.error() != null) {
                md.append("| ").append(r.variant().label()).append(" | | | | | | | ").append(each).append(" |\n");
                continue;
            }
            md.append(String.format(Locale.ROOT, "| %s | %,.0f | %s | %s | %d | %,.0f + %,.0f | %.2f | %s |%n",
                r.variant().label(), r.sentencesPerSec(), orNa(r.wordsPerSec(), "%,.0f"), orNa(r.completeMs(), "%.1f"),
                r.failed(), r.cost().jvmMicros(), r.cost().childMicros(), r.otherCores(), each));
        }
        md.append('\n');
        md.append("Where the CPU of one acked sentence goes (same rounds):\n\n");
        md.append("| variant | JVM user (µs) | JVM kernel (µs) | subprocesses (µs) | JVM context switches |\n");
        md.append("|---|---:|---:|---:|---:|\n");
        for (Result r : results) {
            if (r.cost() != null) {
                Cost c = r.cost();
                md.append(String.format(Locale.ROOT, "| %s | %,.0f | %,.0f | %,.0f | %s |%n", r.variant().label(),
                    c.jvmMicros() - c.jvmKernelMicros(), c.jvmKernelMicros(), c.childMicros(),
                    orNa(c.contextSwitches(), "%.1f")));
            }
        }
        md.append('\n');
        md.append("Ratios of sentences acked/s:\n\n");
        ratio(md, results, "wasm-msgpack", "java", " (target ≥ 0.70)");
        ratio(md, results, "wasm-json", "java", "");
        ratio(md, results, "wasm-msgpack", "pystorm", "");
        ratio(md, results, "wasm-json", "pystorm", "");
        ratio(md, results, "wasm-msgpack", "wasm-json", "");
        ratio(md, results, "native-worker", "flux-msgpack", " (target ≥ 5)");
        ratio(md, results, "native-worker", "flux-json", "");
        ratio(md, results, "native-worker", "java", "");
        ratio(md, results, "flux-msgpack", "wasm-msgpack", "");
        return md.toString();
    }

    private static String orNa(double x, String format) {
        return Double.isNaN(x) ? "n/a" : String.format(Locale.ROOT, format, x);
    }

    /** The parallelism and spout pending of a Flux file, e.g. "sentences ×1, split ×2, count ×2, max spout pending 2000". */
    static String describeFlux(Path flux) {
        try {
            TopologyDef def = FluxParser.parseFile(flux.toString(), false, true, new Properties(), true);
            List<String> parts = new ArrayList<>();
            def.getSpouts().forEach(v -> parts.add(v.getId() + " ×" + v.getParallelism()));
            def.getBolts().forEach(v -> parts.add(v.getId() + " ×" + v.getParallelism()));
            Object pending = def.getConfig() == null ? null : def.getConfig().get(Config.TOPOLOGY_MAX_SPOUT_PENDING);
            return String.join(", ", parts) + ", max spout pending " + (pending == null ? "unset" : pending);
        } catch (IOException | RuntimeException e) {
            return "(cannot parse: " + e.getMessage() + ")";
        }
    }

    /** The best round of every variant and the settings, for bench/report.py. */
    static String json(Settings s, Map<Variant, List<Result>> rounds) {
        StringBuilder j = new StringBuilder("{\n");
        j.append("  \"date\": ").append(quote(ZonedDateTime.now(ZoneOffset.UTC).toString())).append(",\n");
        j.append("  \"machine\": ").append(quote(Machine.describe())).append(",\n");
        j.append("  \"software\": ").append(quote("Storm " + VersionInfo.getVersion() + " LocalCluster, Java "
            + System.getProperty("java.version") + (s.versions().isBlank() ? "" : ", " + s.versions()))).append(",\n");
        j.append(String.format(Locale.ROOT, "  \"rounds\": %d, \"warmup_secs\": %d, \"measure_secs\": %d, "
            + "\"max_spout_pending\": %d, \"parallelism\": %d,%n", s.rounds(), s.warmupSecs(), s.measureSecs(),
            s.maxSpoutPending(), s.parallelism()));
        j.append("  \"flux\": ").append(quote(s.flux().toString())).append(", \"flux_topology\": ")
            .append(quote(describeFlux(s.flux()))).append(",\n");
        j.append("  \"variants\": [");
        String sep = "\n";
        for (Map.Entry<Variant, List<Result>> e : rounds.entrySet()) {
            Result r = best(e.getValue());
            Variant v = e.getKey();
            j.append(sep).append("    {\"name\": ").append(quote(v.name())).append(", \"label\": ")
                .append(quote(v.label())).append(", \"error\": ").append(r.error() == null ? "null" : quote(r.error()))
                .append(", \"sentences_per_s\": ").append(num(r.sentencesPerSec()))
                .append(", \"words_per_s\": ").append(num(r.wordsPerSec()))
                .append(", \"complete_ms\": ").append(num(r.completeMs()))
                .append(", \"failed\": ").append(r.failed())
                .append(", \"jvm_cpu_us\": ").append(num(r.cost() == null ? Double.NaN : r.cost().jvmMicros()))
                .append(", \"child_cpu_us\": ").append(num(r.cost() == null ? Double.NaN : r.cost().childMicros()))
                .append(", \"other_cores\": ").append(num(r.otherCores()))
                .append(", \"rounds\": [")
                .append(e.getValue().stream().map(x -> num(x.sentencesPerSec())).collect(Collectors.joining(", ")))
                .append("]}");
            sep = ",\n";
        }
        return j.append("\n  ]\n}\n").toString();
    }

    private static String num(double x) {
        return Double.isNaN(x) || Double.isInfinite(x) ? "null" : String.format(Locale.ROOT, "%.3f", x);
    }

    private static String quote(String text) {
        StringBuilder q = new StringBuilder("\"");
        for (char c : text.toCharArray()) {
            switch (c) {
                case '"' -> q.append("\\\"");
                case '\\' -> q.append("\\\\");
                case '\n' -> q.append("\\n");
                default -> {
                    if (c < 0x20) {
                        q.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    } else {
                        q.append(c);
                    }
                }
            }
        }
        return q.append('"').toString();
    }

    private static void ratio(StringBuilder md, List<Result> results, String of, String to, String note) {
        Result a = find(results, of);
        Result b = find(results, to);
        if (a == null || b == null || a.error() != null || b.error() != null) {
            return;
        }
        md.append(String.format(Locale.ROOT, "- %s / %s: **%.2f**%s%n", a.variant().label(), b.variant().label(),
            a.sentencesPerSec() / b.sentencesPerSec(), note));
    }

    private static Result find(List<Result> results, String name) {
        return results.stream().filter(r -> r.variant().name().equals(name)).findFirst().orElse(null);
    }

    /** A one-line description of the machine, from /proc. */
    static final class Machine {
        private Machine() {
        }

        static String describe() {
            String cpu = firstValue(Path.of("/proc/cpuinfo"), "model name");
            String memKb = firstValue(Path.of("/proc/meminfo"), "MemTotal");
            String mem = memKb == null ? "?"
                : String.format(Locale.ROOT, "%.0f GiB", Long.parseLong(memKb.replaceAll("\\D", "")) / 1048576.0);
            return String.format(Locale.ROOT, "%s, %d CPUs, %s RAM, %s %s (shared with other work)",
                cpu == null ? "unknown CPU" : cpu, Runtime.getRuntime().availableProcessors(), mem,
                System.getProperty("os.name"), System.getProperty("os.version"));
        }

        private static String firstValue(Path file, String key) {
            try {
                return Files.readAllLines(file).stream()
                    .filter(line -> line.startsWith(key))
                    .map(line -> line.substring(line.indexOf(':') + 1).trim())
                    .findFirst().orElse(null);
            } catch (IOException e) {
                return null;
            }
        }
    }
}
