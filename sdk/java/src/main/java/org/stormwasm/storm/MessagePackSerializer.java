package org.stormwasm.storm;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.storm.generated.GlobalStreamId;
import org.apache.storm.generated.Grouping;
import org.apache.storm.multilang.BoltMsg;
import org.apache.storm.multilang.ISerializer;
import org.apache.storm.multilang.NoOutputException;
import org.apache.storm.multilang.ShellMsg;
import org.apache.storm.multilang.SpoutMsg;
import org.apache.storm.task.TopologyContext;
import org.apache.storm.utils.Utils;
import org.msgpack.core.ExtensionTypeHeader;
import org.msgpack.core.MessageFormat;
import org.msgpack.core.MessageInsufficientBufferException;
import org.msgpack.core.MessagePack;
import org.msgpack.core.MessagePackException;
import org.msgpack.core.MessagePacker;
import org.msgpack.core.MessageUnpacker;

/**
 * Storm multi-lang serializer that speaks MessagePack instead of JSON.
 *
 * <p>Enable it for a whole topology (the key is topology-wide; Storm strips it from component configuration):
 * <pre>
 * conf.put(Config.TOPOLOGY_MULTILANG_SERIALIZER, MessagePackSerializer.class.getName());
 * </pre>
 * The storm-wasm host detects the format itself when started with {@code --serializer auto}, which is what
 * {@link WasmBolt} and {@link WasmSpout} pass.
 *
 * <p>Wire format (docs/msgpack-framing.md): every message is exactly one MessagePack value, messages follow each
 * other with no delimiter and no length prefix. Storm writes maps (handshake, tuples, heartbeats, spout commands)
 * and arrays (task ids); the subprocess writes maps (the pid reply and every command). The keys are those of Storm's
 * JSON protocol. Compared with Storm's {@code JsonSerializer} this serializer
 * <ul>
 *   <li>carries {@code byte[]} tuple values as MessagePack {@code bin} (JSON cannot send them at all);</li>
 *   <li>reads every integer as {@link Long} (or {@link BigInteger} above {@code Long.MAX_VALUE}), so direct emits
 *       ({@code task}) and log levels work, unlike json-smart's Integer/Long mix-up in Storm 2.6+;</li>
 *   <li>reads {@code id} and {@code anchors} as strings (integers are converted), because ShellBolt looks ids up in a
 *       String-keyed map;</li>
 *   <li>supports the {@code metrics} command ({@code name}, {@code params}).</li>
 * </ul>
 *
 * <p>Storm creates one instance per ShellProcess by reflection (public no-arg constructor). ShellBolt writes from its
 * writer thread and reads from its reader thread, so the packer and the unpacker are each used by one thread only.
 */
public class MessagePackSerializer implements ISerializer {
    private static final long serialVersionUID = 1L;

    /** What {@code ShellMsg.getStream()} is when an emit names no stream (same as JsonSerializer). */
    private static final String DEFAULT_STREAM = Utils.DEFAULT_STREAM_ID;

    private transient MessagePacker packer;
    private transient MessageUnpacker unpacker;

    @Override
    public void initialize(OutputStream processIn, InputStream processOut) {
        this.packer = MessagePack.newDefaultPacker(processIn);
        this.unpacker = MessagePack.newDefaultUnpacker(processOut);
    }

    /**
     * Sends {@code {pidDir, conf, context}} and reads {@code {pid}}.
     *
     * <p>{@code context} has exactly the keys of {@code TopologyContext.toJSONString()}, built from the context's
     * getters; {@code task->component} keys are written as strings, as in JSON.
     */
    @Override
    public Number connect(Map<String, Object> conf, TopologyContext context) throws IOException, NoOutputException {
        packer.packMapHeader(3);
        packer.packString("pidDir");
        packValue(context.getPIDDir());
        packer.packString("conf");
        packValue(conf);
        packer.packString("context");
        packValue(contextMap(context));
        packer.flush();

        Map<String, Object> reply = readMap("the handshake reply {\"pid\": <int>}");
        Object pid = reply.get("pid");
        if (!(pid instanceof Number)) {
            throw new IOException("Expected the subprocess to answer the handshake with {\"pid\": <int>}, got "
                + reply);
        }
        return (Number) pid;
    }

    /**
     * The handshake's {@code context} map: the same keys and values as Storm's {@code TopologyContext.toJSONString()}.
     * Sorted maps keep the bytes deterministic (JSON's HashMap order carries no meaning either).
     */
    static Map<String, Object> contextMap(TopologyContext context) {
        Map<String, Object> ctx = new LinkedHashMap<>();
        Map<String, Object> taskToComponent = new LinkedHashMap<>();
        new TreeMap<>(context.getTaskToComponent())
            .forEach((task, component) -> taskToComponent.put(String.valueOf(task), component));
        ctx.put("task->component", taskToComponent);
        ctx.put("taskid", context.getThisTaskId());
        ctx.put("componentid", context.getThisComponentId());
        ctx.put("streams", new ArrayList<>(context.getThisStreams()));
        ctx.put("stream->outputfields", new TreeMap<>(context.getThisOutputFieldsForStreams()));

        Map<String, Object> targets = new TreeMap<>();
        context.getThisTargets().forEach((stream, byTarget) -> {
            Map<String, Object> groupings = new TreeMap<>();
            byTarget.forEach((target, grouping) -> groupings.put(target, groupingMap(grouping)));
            targets.put(stream, groupings);
        });
        ctx.put("stream->target->grouping", targets);

        Map<String, Map<String, Object>> sources = new TreeMap<>();
        for (Map.Entry<GlobalStreamId, Grouping> e : context.getThisSources().entrySet()) {
            sources.computeIfAbsent(e.getKey().get_componentId(), c -> new TreeMap<>())
                .put(e.getKey().get_streamId(), groupingMap(e.getValue()));
        }
        ctx.put("source->stream->grouping", sources);
        ctx.put("source->stream->fields", new TreeMap<>(context.getThisInputFields()));
        return ctx;
    }

    /** Same shape as TopologyContext.groupingToJSONableMap: {"type": FIELDS|SHUFFLE|..., "fields": [..] if FIELDS}. */
    private static Map<String, Object> groupingMap(Grouping grouping) {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("type", grouping.getSetField().toString());
        if (grouping.is_set_fields()) {
            map.put("fields", grouping.get_fields());
        }
        return map;
    }

    /** Writes a tuple or heartbeat: {@code {id, comp, stream, task, tuple}} ({@code comp} is nil for heartbeats). */
    @Override
    public void writeBoltMsg(BoltMsg msg) throws IOException {
        packer.packMapHeader(5);
        packer.packString("id");
        packValue(msg.getId());
        packer.packString("comp");
        packValue(msg.getComp());
        packer.packString("stream");
        packValue(msg.getStream());
        packer.packString("task");
        packer.packLong(msg.getTask());
        packer.packString("tuple");
        packValue(msg.getTuple());
        packer.flush();
    }

    /** Writes {@code {command, id}}: {@code id} is {@code ""} for next/activate/deactivate, else the message id. */
    @Override
    public void writeSpoutMsg(SpoutMsg msg) throws IOException {
        packer.packMapHeader(2);
        packer.packString("command");
        packValue(msg.getCommand());
        packer.packString("id");
        packValue(msg.getId());
        packer.flush();
    }

    /** Writes the task ids an emit went to, as an array of ints. */
    @Override
    public void writeTaskIds(List<Integer> taskIds) throws IOException {
        packValue(taskIds);
        packer.flush();
    }

    /**
     * Packs a Java value: String, integral numbers, Float (float32), Double (float64), Boolean, null, byte[],
     * Collections and Object[] as arrays, Maps as maps; anything else as its {@code toString()}.
     */
    private void packValue(Object v) throws IOException {
        if (v == null) {
            packer.packNil();
        } else if (v instanceof String) {
            packer.packString((String) v);
        } else if (v instanceof Long || v instanceof Integer || v instanceof Short || v instanceof Byte) {
            packer.packLong(((Number) v).longValue());
        } else if (v instanceof Double) {
            packer.packDouble((Double) v);
        } else if (v instanceof Float) {
            packer.packFloat((Float) v);
        } else if (v instanceof Boolean) {
            packer.packBoolean((Boolean) v);
        } else if (v instanceof byte[]) {
            byte[] bytes = (byte[]) v;
            packer.packBinaryHeader(bytes.length);
            packer.writePayload(bytes);
        } else if (v instanceof BigInteger && fitsMsgpackInt((BigInteger) v)) {
            packer.packBigInteger((BigInteger) v);
        } else if (v instanceof Map) {
            Map<?, ?> map = (Map<?, ?>) v;
            packer.packMapHeader(map.size());
            for (Map.Entry<?, ?> e : map.entrySet()) {
                packValue(e.getKey());
                packValue(e.getValue());
            }
        } else if (v instanceof Collection) {
            Collection<?> items = (Collection<?>) v;
            packer.packArrayHeader(items.size());
            for (Object item : items) {
                packValue(item);
            }
        } else if (v instanceof Object[]) {
            packValue(Arrays.asList((Object[]) v));
        } else {
            packer.packString(v.toString());
        }
    }

    /** MessagePack integers span int64 and uint64. */
    private static boolean fitsMsgpackInt(BigInteger v) {
        return v.bitLength() <= 63 || (v.signum() > 0 && v.bitLength() == 64);
    }

    /** Reads one command from the subprocess. */
    @Override
    public ShellMsg readShellMsg() throws IOException, NoOutputException {
        Map<String, Object> msg = readMap("a command map {\"command\": ...}");
        Object command = msg.get("command");
        if (!(command instanceof String)) {
            // JsonSerializer would throw a NullPointerException here; say what arrived instead.
            throw new IOException("Message from the subprocess has no string \"command\": " + msg);
        }
        ShellMsg shellMsg = new ShellMsg();
        shellMsg.setCommand((String) command);
        shellMsg.setId(idString(msg.get("id")));
        Object text = msg.get("msg");
        shellMsg.setMsg(text == null ? null : text.toString());

        Object stream = msg.get("stream");
        shellMsg.setStream(stream == null ? DEFAULT_STREAM : stream.toString());

        Object task = msg.get("task");
        shellMsg.setTask(task instanceof Number ? ((Number) task).longValue() : 0L);

        Object needTaskIds = msg.get("need_task_ids");
        shellMsg.setNeedTaskIds(!Boolean.FALSE.equals(needTaskIds));

        shellMsg.setTuple(asList(msg.get("tuple")));

        Object anchors = msg.get("anchors");
        if (anchors instanceof List) {
            for (Object anchor : (List<?>) anchors) {
                shellMsg.addAnchor(idString(anchor));
            }
        } else if (anchors != null) {
            shellMsg.addAnchor(idString(anchors));
        }

        if ("metrics".equals(command)) {
            // A missing name would be a NullPointerException in ShellBolt; "" gives Storm's own clear error.
            Object name = msg.get("name");
            shellMsg.setMetricName(name == null ? "" : name.toString());
            shellMsg.setMetricParams(msg.get("params"));
        }
        if ("log".equals(command) && msg.get("level") instanceof Number) {
            shellMsg.setLogLevel(((Number) msg.get("level")).intValue());
        }
        return shellMsg;
    }

    @SuppressWarnings("unchecked")
    private static List<Object> asList(Object tuple) {
        return tuple instanceof List ? (List<Object>) tuple : null;
    }

    /** Ids and anchors are looked up by String in ShellBolt, so integers (or anything else) become strings. */
    private static String idString(Object id) {
        if (id == null || id instanceof String) {
            return (String) id;
        }
        if (id instanceof byte[]) {
            return new String((byte[]) id, StandardCharsets.UTF_8);
        }
        return id.toString();
    }

    @SuppressWarnings("unchecked")
    private Map<String, Object> readMap(String expected) throws IOException, NoOutputException {
        MessageFormat format;
        Object value;
        try {
            if (!unpacker.hasNext()) {
                throw new NoOutputException("Pipe to subprocess seems to be broken! The storm-wasm process closed its "
                    + "stdout (it exited, crashed or was stopped) while Storm was waiting for " + expected
                    + ". No output read.\n"
                    + "Serializer Exception (MessagePack):\n");
            }
            format = unpacker.getNextFormat();
            value = readValue();
        } catch (MessageInsufficientBufferException e) {
            throw new NoOutputException("Pipe to subprocess seems to be broken! The storm-wasm process closed its "
                + "stdout in the middle of a MessagePack value while Storm was waiting for " + expected + ".\n"
                + "Serializer Exception (MessagePack): " + e.getMessage() + "\n");
        } catch (MessagePackException e) {
            throw new IOException("Invalid MessagePack from the subprocess while waiting for " + expected, e);
        }
        if (value instanceof Map) {
            return (Map<String, Object>) value;
        }
        // A JSON-speaking child's first byte '{' (0x7b) decodes as the positive fixint 123.
        String hint = format == MessageFormat.POSFIXINT && Long.valueOf('{').equals(value)
            ? " The byte 0x7b is '{': the subprocess is speaking JSON; start it with --serializer msgpack or auto,"
                + " or remove topology.multilang.serializer from the topology configuration."
            : "";
        throw new IOException("Expected " + expected + " from the subprocess (a MessagePack map) but got "
            + describe(value) + "." + hint);
    }

    private static String describe(Object value) {
        if (value == null) {
            return "nil";
        }
        String text = value instanceof byte[] ? "bin[" + ((byte[]) value).length + "]" : value.toString();
        return value.getClass().getSimpleName() + " " + (text.length() > 200 ? text.substring(0, 200) + "..." : text);
    }

    /**
     * Reads one value: nil→null, bool→Boolean, int→Long (BigInteger above Long.MAX_VALUE), float→Double,
     * str→String, bin→byte[], array→ArrayList, map→LinkedHashMap, ext→its payload as byte[].
     */
    private Object readValue() throws IOException {
        MessageFormat format = unpacker.getNextFormat();
        switch (format.getValueType()) {
            case NIL:
                unpacker.unpackNil();
                return null;
            case BOOLEAN:
                return unpacker.unpackBoolean();
            case INTEGER:
                if (format == MessageFormat.UINT64) {
                    BigInteger big = unpacker.unpackBigInteger();
                    return big.bitLength() < 64 ? (Object) big.longValue() : big;
                }
                return unpacker.unpackLong();
            case FLOAT:
                return unpacker.unpackDouble();
            case STRING:
                return unpacker.unpackString();
            case BINARY:
                return unpacker.readPayload(unpacker.unpackBinaryHeader());
            case ARRAY: {
                int size = unpacker.unpackArrayHeader();
                List<Object> list = new ArrayList<>(size);
                for (int i = 0; i < size; i++) {
                    list.add(readValue());
                }
                return list;
            }
            case MAP: {
                int size = unpacker.unpackMapHeader();
                Map<Object, Object> map = new LinkedHashMap<>();
                for (int i = 0; i < size; i++) {
                    Object key = readValue();
                    map.put(key, readValue());
                }
                return map;
            }
            case EXTENSION: {
                ExtensionTypeHeader header = unpacker.unpackExtensionTypeHeader();
                return unpacker.readPayload(header.getLength());
            }
            default:
                throw new IOException("Unsupported MessagePack format " + format);
        }
    }
}
