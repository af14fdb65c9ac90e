package org.stormwasm.storm.it;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Says which test was running when the JVM exits under it. Storm's ShellSpout calls System.exit(11) when its
 * subprocess fails, even in local mode, and a dying executor makes the worker call exit too; the forked test JVM
 * then ends without a JUnit report; this writes target/failsafe-reports/JVM-EXIT-&lt;test&gt;.txt naming the test.
 */
public class JvmExitReporter implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback, AfterEachCallback {
    private static volatile String running;

    /** Where the note goes: surefire's stdout channel may already be closed when the hook runs. */
    private static final Path REPORT_DIR = Path.of("target", "failsafe-reports");

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(JvmExitReporter::report, "jvm-exit-reporter"));
    }

    private static void report() {
        String test = running;
        if (test == null) {
            return;
        }
        String message = "The JVM exited while " + test + " was running: Storm called System.exit (a ShellSpout/"
            + "ShellBolt died or the worker suicided). The cause is in this class's -output.txt: look for "
            + "'Halting process', 'Worker died', 'Async loop died' and the storm-wasm stderr lines before them.\n";
        System.err.println("!!! " + message);
        try {
            Files.createDirectories(REPORT_DIR);
            Files.writeString(REPORT_DIR.resolve("JVM-EXIT-" + test.replaceAll("[^A-Za-z0-9._-]+", "_") + ".txt"),
                message);
        } catch (IOException e) {
            System.err.println("could not write the JVM exit note: " + e);
        }
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        running = context.getDisplayName() + " (setup)";
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        running = context.getRequiredTestClass().getSimpleName() + "." + context.getDisplayName();
    }

    @Override
    public void afterEach(ExtensionContext context) {
        running = context.getRequiredTestClass().getSimpleName() + " (between tests)";
    }

    @Override
    public void afterAll(ExtensionContext context) {
        running = null;
    }
}
