package org.stormwasm.storm.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * CPU time used so far by this JVM (and how much of it in the kernel), by its child processes (the ShellBolt
 * subprocesses: storm-wasm or python) and by the whole machine, plus the JVM threads' context switches. Two samples
 * give what a variant cost per tuple and how busy the rest of the (shared) machine was meanwhile, which is what makes
 * a throughput figure from a shared 2-core machine readable. Linux only (/proc); elsewhere the /proc parts are 0.
 */
record CpuSample(long nanoTime, long jvmNanos, long jvmKernelNanos, long childNanos, long contextSwitches,
                 long machineBusyTicks, long machineTotalTicks) {
    /** Linux reports /proc times in USER_HZ ticks, 100 per second on every architecture's user ABI. */
    private static final long NANOS_PER_TICK = 10_000_000L;

    static CpuSample take() {
        long jvm = ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
            .getProcessCpuTime();
        // Subprocesses live for the whole window, so the difference of two sums is their CPU in the window.
        long children = ProcessHandle.current().descendants()
            .mapToLong(p -> p.info().totalCpuDuration().orElse(Duration.ZERO).toNanos())
            .sum();
        long[] machine = readMachineTicks();
        return new CpuSample(System.nanoTime(), jvm, readKernelTicks() * NANOS_PER_TICK, children, readContextSwitches(),
            machine[0], machine[1]);
    }

    /** stime of this process, field 15 of /proc/self/stat (counted after the parenthesised command name). */
    private static long readKernelTicks() {
        try {
            String stat = Files.readString(Path.of("/proc/self/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Long.parseLong(f[12]);
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    /** Voluntary and involuntary context switches of all threads of this JVM. */
    private static long readContextSwitches() {
        long sum = 0;
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc/self/task"))) {
            for (Path task : tasks) {
                try {
                    for (String line : Files.readAllLines(task.resolve("status"))) {
                        if (line.startsWith("voluntary_ctxt_switches") || line.startsWith("nonvoluntary_ctxt_switches")) {
                            sum += Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
                        }
                    }
                } catch (IOException | RuntimeException e) {
                    // The thread ended while we looked.
                }
            }
        } catch (IOException | RuntimeException e) {
            return 0;
        }
        return sum;
    }

    /** {busy, total} jiffies of all CPUs from the first line of /proc/stat; zeros where it cannot be read. */
    private static long[] readMachineTicks() {
        try {
            String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
            // cpu user nice system idle iowait irq softirq steal ...
            long idle = Long.parseLong(f[4]) + Long.parseLong(f[5]);
            long total = 0;
            for (int i = 1; i <= 8 && i < f.length; i++) {
                total += Long.parseLong(f[i]);
            }
            return new long[] {total - idle, total};
        } catch (IOException | RuntimeException e) {
            return new long[] {0, 0};
        }
    }

    /** CPU seconds this JVM and its children used between {@code start} and this sample. */
    double ownCpuSecondsSince(CpuSample start) {
        return jvmCpuSecondsSince(start) + childCpuSecondsSince(start);
    }

    /** CPU seconds of this JVM (Storm, the Java bolts, the ShellBolt threads and serializers) since {@code start}. */
    double jvmCpuSecondsSince(CpuSample start) {
        return (jvmNanos - start.jvmNanos) / 1e9;
    }

    /** The part of {@link #jvmCpuSecondsSince} spent in the kernel (pipe reads and writes, thread wake-ups). */
    double jvmKernelSecondsSince(CpuSample start) {
        return (jvmKernelNanos - start.jvmKernelNanos) / 1e9;
    }

    /** CPU seconds of the subprocesses (storm-wasm or python) since {@code start}. */
    double childCpuSecondsSince(CpuSample start) {
        return (childNanos - start.childNanos) / 1e9;
    }

    /** Context switches of the JVM's threads since {@code start} (threads that ended meanwhile are not counted). */
    long contextSwitchesSince(CpuSample start) {
        return Math.max(0, contextSwitches - start.contextSwitches);
    }

    /**
     * Cores the rest of the machine kept busy between {@code start} and this sample (other engineers' builds,
     * steal time): machine busy time minus this process tree's, per second of wall time.
     */
    double otherCoresSince(CpuSample start) {
        long total = machineTotalTicks - start.machineTotalTicks;
        if (total <= 0) {
            return Double.NaN;
        }
        double wallSeconds = (nanoTime - start.nanoTime) / 1e9;
        double machineBusyCores = (double) (machineBusyTicks - start.machineBusyTicks) / total
            * Runtime.getRuntime().availableProcessors();
        return Math.max(0, machineBusyCores - ownCpuSecondsSince(start) / wallSeconds);
    }
}
