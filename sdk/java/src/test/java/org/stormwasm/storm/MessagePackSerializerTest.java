package org.stormwasm.storm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.storm.multilang.BoltMsg;
import org.apache.storm.multilang.NoOutputException;
import org.apache.storm.multilang.ShellMsg;
import org.apache.storm.multilang.SpoutMsg;
import org.apache.storm.shade.net.minidev.json.JSONValue;
import org.apache.storm.task.TopologyContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.msgpack.core.MessagePack;
import org.msgpack.core.MessageUnpacker;
import org.msgpack.value.Value;

/**
 * Byte-exact tests of the MessagePack wire format (docs/msgpack-framing.md). Storm's and the child's ends are
 * connected through pipes as the subprocess's stdin/stdout would be; the expected bytes are spelled out from the
 * MessagePack spec, not produced by msgpack-java.
 */
class MessagePackSerializerTest {
    private static final int PIPE_SIZE = 1 << 20;

    private MessagePackSerializer serializer;
    /** What Storm wrote to the child's stdin. */
    private PipedInputStream childStdin;
    /** Where the test, playing the child, writes its stdout. */
    private PipedOutputStream childStdout;

    @BeforeEach
    void connectPipes() throws IOException {
        PipedOutputStream stormToChild = new PipedOutputStream();
        childStdin = new PipedInputStream(stormToChild, PIPE_SIZE);
        childStdout = new PipedOutputStream();
        PipedInputStream childToStorm = new PipedInputStream(childStdout, PIPE_SIZE);
        serializer = new MessagePackSerializer();
        serializer.initialize(stormToChild, childToStorm);
    }

    @AfterEach
    void closePipes() throws IOException {
        childStdout.close();
        childStdin.close();
    }

    // ---- helpers: MessagePack encodings written out by hand ----

    /** Concatenates ints (each one byte) and byte arrays. */
    private static byte[] bytes(Object... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Object part : parts) {
            if (part instanceof Integer) {
                out.write((Integer) part);
            } else {
                out.writeBytes((byte[]) part);
            }
        }
        return out.toByteArray();
    }

    /** fixstr: 0xa0 | length, then the UTF-8 bytes (strings under 32 bytes). */
    private static byte[] str(String s) {
        byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
        assertTrue(utf8.length < 32);
        return bytes(0xa0 | utf8.length, utf8);
    }

    private byte[] written() throws IOException {
        byte[] out = new byte[childStdin.available()];
        assertEquals(out.length, childStdin.read(out, 0, out.length));
        return out;
    }

    private void childWrites(Object... parts) throws IOException {
        childStdout.write(bytes(parts));
        childStdout.flush();
    }

    private static String hex(byte[] data) {
        StringBuilder sb = new StringBuilder();
        for (byte b : data) {
            sb.append(String.format("%02x ", b & 0xff));
        }
        return sb.toString().trim();
    }

    private void assertWritten(byte[] expected) throws IOException {
        assertEquals(hex(expected), hex(written()));
    }

    // ---- Storm -> child ----

    @Test
    void tupleIsAFiveEntryMapInFixedKeyOrder() throws IOException {
        BoltMsg msg = new BoltMsg();
        msg.setId("7");
        msg.setComp("spout");
        msg.setStream("default");
        msg.setTask(3);
        msg.setTuple(List.of("a", 1));
        serializer.writeBoltMsg(msg);
        assertWritten(bytes(0x85, str("id"), str("7"), str("comp"), str("spout"), str("stream"), str("default"),
            str("task"), 0x03, str("tuple"), 0x92, str("a"), 0x01));
    }

    @Test
    void heartbeatHasNilCompAndTaskMinusOne() throws IOException {
        BoltMsg msg = new BoltMsg();
        msg.setId("-5");
        msg.setStream("__heartbeat");
        msg.setTask(-1);
        msg.setTuple(new ArrayList<>());
        serializer.writeBoltMsg(msg);
        assertWritten(bytes(0x85, str("id"), str("-5"), str("comp"), 0xc0, str("stream"), str("__heartbeat"),
            str("task"), 0xff, str("tuple"), 0x90));
    }

    @Test
    void taskIdsAreAnArrayOfInts() throws IOException {
        serializer.writeTaskIds(List.of(4, 5));
        serializer.writeTaskIds(List.of());
        serializer.writeTaskIds(List.of(300));
        assertWritten(bytes(0x92, 0x04, 0x05, 0x90, 0x91, 0xcd, 0x01, 0x2c));
    }

    @Test
    void spoutCommandsAreCommandAndId() throws IOException {
        SpoutMsg next = new SpoutMsg();
        next.setCommand("next");
        next.setId("");
        serializer.writeSpoutMsg(next);
        SpoutMsg ack = new SpoutMsg();
        ack.setCommand("ack");
        ack.setId("17");
        serializer.writeSpoutMsg(ack);
        assertWritten(bytes(0x82, str("command"), str("next"), str("id"), 0xa0,
            0x82, str("command"), str("ack"), str("id"), str("17")));
    }

    @Test
    void tupleValuesKeepTheirTypes() throws IOException {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("k", 1);
        BoltMsg msg = new BoltMsg();
        msg.setId("1");
        msg.setComp("c");
        msg.setStream("s");
        msg.setTask(2);
        msg.setTuple(Arrays.asList(new byte[] {0, (byte) 0xff, 0x10}, Long.MAX_VALUE, Long.MIN_VALUE,
            BigInteger.TWO.pow(64).subtract(BigInteger.ONE), BigInteger.TWO.pow(64), -33, (short) 300, (byte) -1,
            1.5f, 0.1d, true, null, List.of("x"), map, Duration.ofSeconds(1)));
        serializer.writeBoltMsg(msg);
        assertWritten(bytes(0x85, str("id"), str("1"), str("comp"), str("c"), str("stream"), str("s"),
            str("task"), 0x02, str("tuple"), 0x9f,
            0xc4, 0x03, 0x00, 0xff, 0x10,                                   // bin 8
            0xcf, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,           // Long.MAX_VALUE
            0xd3, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,           // Long.MIN_VALUE
            0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,           // 2^64-1 as uint64
            str("18446744073709551616"),                                    // 2^64 does not fit: toString
            0xd0, 0xdf,                                                     // -33 int8
            0xcd, 0x01, 0x2c,                                               // (short) 300
            0xff,                                                           // (byte) -1
            0xca, 0x3f, 0xc0, 0x00, 0x00,                                   // 1.5f float32
            0xcb, 0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a,           // 0.1d float64
            0xc3, 0xc0,                                                     // true, nil
            0x91, str("x"),
            0x81, str("k"), 0x01,
            str("PT1S")));                                                  // anything else: toString
    }

    // ---- handshake ----

    @Test
    void handshakeSendsPidDirConfAndStormsContextKeysThenReadsThePid() throws Exception {
        Map<String, Object> conf = new LinkedHashMap<>();
        conf.put("topology.name", "wc");
        conf.put("sentence.spout.limit", 100);
        conf.put("ratio", 0.5);
        conf.put("flag", true);
        conf.put("list", List.of(1, "x"));
        conf.put("none", null);
        TopologyContext context = TestContexts.context(3, conf, "/code", "/pids");
        // The child answers before Storm asks: the pipe buffers it. {"pid": 4242} with 4242 as uint16.
        childWrites(0x81, str("pid"), 0xcd, 0x10, 0x92);

        Number pid = serializer.connect(conf, context);
        assertEquals(4242L, pid);

        byte[] handshake = written();
        byte[] prefix = bytes(0x83, str("pidDir"), str("/pids"), str("conf"));
        assertEquals(hex(prefix), hex(Arrays.copyOf(handshake, prefix.length)));
        // Decode independently and compare with what Storm's JsonSerializer would have sent.
        MessageUnpacker unpacker = MessagePack.newDefaultUnpacker(handshake);
        Value value = unpacker.unpackValue();
        assertFalse(unpacker.hasNext(), "exactly one value");
        Value[] keysAndValues = value.asMapValue().getKeyValueArray();
        assertEquals("pidDir conf context", keysAndValues[0] + " " + keysAndValues[2] + " " + keysAndValues[4]);
        Map<?, ?> setup = (Map<?, ?>) JSONValue.parse(value.toJson());
        assertEquals(JSONValue.parse(JSONValue.toJSONString(conf)), setup.get("conf"));
        assertEquals(JSONValue.parse(context.toJSONString()), setup.get("context"));
        Map<?, ?> ctx = (Map<?, ?>) setup.get("context");
        assertEquals("split", ctx.get("componentid"));
        assertEquals(Map.of("type", "FIELDS", "fields", List.of("word")),
            ((Map<?, ?>) ((Map<?, ?>) ctx.get("stream->target->grouping")).get("default")).get("count"));
        assertEquals(Map.of("type", "DIRECT"),
            ((Map<?, ?>) ((Map<?, ?>) ctx.get("stream->target->grouping")).get("direct")).get("sink"));
    }

    @Test
    void handshakeWithoutPidIsAnError() throws Exception {
        childWrites(0x81, str("pod"), 0x01);
        IOException e = assertThrows(IOException.class,
            () -> serializer.connect(Map.of(), TestContexts.context(3, Map.of(), "/code", "/pids")));
        assertTrue(e.getMessage().contains("{\"pid\": <int>}"), e.getMessage());
    }

    @Test
    void aChildSpeakingJsonGetsAHint() throws Exception {
        childWrites("{\"pid\":1}\nend\n".getBytes(StandardCharsets.UTF_8));
        IOException e = assertThrows(IOException.class,
            () -> serializer.connect(Map.of(), TestContexts.context(3, Map.of(), "/code", "/pids")));
        assertTrue(e.getMessage().contains("speaking JSON"), e.getMessage());
    }

    // ---- child -> Storm ----

    @Test
    void readsEmitWithAnchorsAndNoTaskIds() throws IOException, NoOutputException {
        childWrites(0x84, str("command"), str("emit"), str("anchors"), 0x91, str("-88"),
            str("tuple"), 0x92, str("a"), 0x01, str("need_task_ids"), 0xc2);
        ShellMsg msg = serializer.readShellMsg();
        assertEquals("emit", msg.getCommand());
        assertEquals(List.of("-88"), msg.getAnchors());
        assertEquals(List.of("a", 1L), msg.getTuple());
        assertEquals("default", msg.getStream());
        assertEquals(0, msg.getTask());
        assertFalse(msg.areTaskIdsNeeded());
        assertNull(msg.getId());
    }

    @Test
    void readsDirectEmitAndSpoutEmit() throws IOException, NoOutputException {
        childWrites(0x84, str("command"), str("emit"), str("stream"), str("direct"), str("task"), 0x07,
            str("tuple"), 0x91, str("direct:7"));
        childWrites(0x83, str("command"), str("emit"), str("id"), str("0"), str("tuple"), 0x91, str("the cow"));
        ShellMsg direct = serializer.readShellMsg();
        assertEquals("direct", direct.getStream());
        assertEquals(7, direct.getTask());
        assertTrue(direct.areTaskIdsNeeded());
        assertEquals(List.of("direct:7"), direct.getTuple());
        ShellMsg spoutEmit = serializer.readShellMsg();
        assertEquals("0", spoutEmit.getId());
        assertEquals(List.of("the cow"), spoutEmit.getTuple());
    }

    @Test
    void readsMetricsLogAckFailSync() throws IOException, NoOutputException {
        childWrites(0x83, str("command"), str("metrics"), str("name"), str("hits"), str("params"), 0x05);
        childWrites(0x83, str("command"), str("log"), str("msg"), str("hi"), str("level"), 0x03);
        childWrites(0x82, str("command"), str("ack"), str("id"), str("-88"));
        childWrites(0x82, str("command"), str("fail"), str("id"), 0x2a);
        childWrites(0x81, str("command"), str("sync"));
        childWrites(0x82, str("command"), str("error"), str("msg"), str("boom"));

        ShellMsg metrics = serializer.readShellMsg();
        assertEquals("metrics", metrics.getCommand());
        assertEquals("hits", metrics.getMetricName());
        assertEquals(5L, metrics.getMetricParams());
        ShellMsg log = serializer.readShellMsg();
        assertEquals("hi", log.getMsg());
        assertEquals(ShellMsg.ShellLogLevel.WARN, log.getLogLevel());
        assertEquals("-88", serializer.readShellMsg().getId());
        assertEquals("42", serializer.readShellMsg().getId(), "integer ids become strings");
        assertEquals("sync", serializer.readShellMsg().getCommand());
        assertEquals("boom", serializer.readShellMsg().getMsg());
    }

    @Test
    void readsAnchorsGivenAsOneStringOrAsIntegers() throws IOException, NoOutputException {
        childWrites(0x83, str("command"), str("emit"), str("anchors"), str("x"), str("tuple"), 0x90);
        childWrites(0x83, str("command"), str("emit"), str("anchors"), 0x91, 0x07, str("tuple"), 0x90);
        assertEquals(List.of("x"), serializer.readShellMsg().getAnchors());
        assertEquals(List.of("7"), serializer.readShellMsg().getAnchors());
    }

    @Test
    void readsBinaryBigIntsFloatsAndNestedValues() throws IOException, NoOutputException {
        childWrites(0x82, str("command"), str("emit"), str("tuple"), 0x99,
            0xc4, 0x03, 0x00, 0xff, 0x10,
            0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xcf, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,
            0xd3, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0xca, 0x3f, 0xc0, 0x00, 0x00,
            0xc0, 0xc3,
            0x81, str("k"), 0x91, 0x01,
            0xd9, 0x20, "ü".repeat(16).getBytes(StandardCharsets.UTF_8));
        List<Object> tuple = serializer.readShellMsg().getTuple();
        assertArrayEquals(new byte[] {0, (byte) 0xff, 0x10}, (byte[]) tuple.get(0));
        assertEquals(BigInteger.TWO.pow(64).subtract(BigInteger.ONE), tuple.get(1));
        assertEquals(5L, tuple.get(2));
        assertEquals(Long.MIN_VALUE, tuple.get(3));
        assertEquals(1.5d, tuple.get(4));
        assertNull(tuple.get(5));
        assertEquals(true, tuple.get(6));
        assertEquals(Map.of("k", List.of(1L)), tuple.get(7));
        assertEquals("ü".repeat(16), tuple.get(8));
    }

    @Test
    void readsOneMessageAtATimeWithoutWaitingForMore() {
        // The child writes one message and then waits for Storm's answer: the reader must not block on a
        // half-filled buffer (that would deadlock every spout cycle).
        assertTimeoutPreemptively(Duration.ofSeconds(5), () -> {
            childWrites(0x81, str("command"), str("sync"));
            assertEquals("sync", serializer.readShellMsg().getCommand());
        });
    }

    @Test
    void roundTripThroughTheChildEnd() throws IOException, NoOutputException {
        // Storm sends a tuple; the child decodes it, emits a transformed tuple anchored to it, and acks.
        BoltMsg msg = new BoltMsg();
        msg.setId("-42");
        msg.setComp("spout");
        msg.setStream("default");
        msg.setTask(9);
        msg.setTuple(List.of("a b", new byte[] {1, 2}));
        serializer.writeBoltMsg(msg);
        MessageUnpacker child = MessagePack.newDefaultUnpacker(childStdin);
        Map<?, ?> tuple = (Map<?, ?>) JSONValue.parse(child.unpackValue().toJson());
        assertEquals("-42", tuple.get("id"));
        assertEquals(9, tuple.get("task"));
        childWrites(0x84, str("command"), str("emit"), str("anchors"), 0x91, str("-42"), str("tuple"), 0x91,
            str("a"), str("need_task_ids"), 0xc3);
        childWrites(0x82, str("command"), str("ack"), str("id"), str("-42"));
        ShellMsg emit = serializer.readShellMsg();
        serializer.writeTaskIds(List.of(3));
        assertEquals(List.of("-42"), emit.getAnchors());
        assertEquals("[3]", child.unpackValue().toJson());
        assertEquals("ack", serializer.readShellMsg().getCommand());
    }

    // ---- failures ----

    @Test
    void eofBeforeAMessageIsNoOutputException() throws IOException {
        childStdout.close();
        NoOutputException e = assertThrows(NoOutputException.class, () -> serializer.readShellMsg());
        assertTrue(e.getMessage().startsWith("Pipe to subprocess seems to be broken!"), e.getMessage());
        assertTrue(e.getMessage().contains("No output read"), e.getMessage());
    }

    @Test
    void eofInsideAMessageIsNoOutputException() throws IOException {
        childWrites(0x82, str("command"), str("ac"));
        childStdout.close();
        NoOutputException e = assertThrows(NoOutputException.class, () -> serializer.readShellMsg());
        assertTrue(e.getMessage().contains("in the middle of a MessagePack value"), e.getMessage());
    }

    @Test
    void eofDuringTheHandshakeIsNoOutputException() throws IOException {
        childStdout.close();
        assertThrows(NoOutputException.class,
            () -> serializer.connect(Map.of(), TestContexts.context(3, Map.of(), "/code", "/pids")));
    }

    @Test
    void aMessageThatIsNotAMapOrHasNoCommandIsAnIOException() throws IOException {
        childWrites(0x92, 0x01, 0x02);
        childWrites(0x81, str("id"), str("1"));
        childWrites(0xc1);
        IOException notMap = assertThrows(IOException.class, () -> serializer.readShellMsg());
        assertTrue(notMap.getMessage().contains("got ArrayList [1, 2]"), notMap.getMessage());
        IOException noCommand = assertThrows(IOException.class, () -> serializer.readShellMsg());
        assertTrue(noCommand.getMessage().contains("no string \"command\""), noCommand.getMessage());
        IOException invalid = assertThrows(IOException.class, () -> serializer.readShellMsg());
        assertTrue(invalid.getMessage().contains("Invalid MessagePack"), invalid.getMessage());
    }

    @Test
    void metricsWithoutNameGetsAnEmptyName() throws IOException, NoOutputException {
        childWrites(0x81, str("command"), str("metrics"));
        ShellMsg msg = serializer.readShellMsg();
        assertEquals("", msg.getMetricName());
        assertInstanceOf(ShellMsg.class, msg);
    }
}
