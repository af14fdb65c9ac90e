package org.stormwasm.storm.it;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.stormwasm.storm.WasmSpout;

/** A WasmSpout that also records, per test key, the message ids Storm acks and fails. */
public class RecordingWasmSpout extends WasmSpout {
    private static final long serialVersionUID = 1L;
    static final Map<String, Set<String>> ACKED = new ConcurrentHashMap<>();
    static final Map<String, Set<String>> FAILED = new ConcurrentHashMap<>();

    private final String key;

    RecordingWasmSpout(String key, String plugin, String... outputFields) {
        super(plugin, outputFields);
        this.key = key;
    }

    static Set<String> acked(String key) {
        return ACKED.computeIfAbsent(key, k -> ConcurrentHashMap.newKeySet());
    }

    static Set<String> failed(String key) {
        return FAILED.computeIfAbsent(key, k -> ConcurrentHashMap.newKeySet());
    }

    @Override
    public void ack(Object msgId) {
        acked(key).add(String.valueOf(msgId));
        super.ack(msgId);
    }

    @Override
    public void fail(Object msgId) {
        failed(key).add(String.valueOf(msgId));
        super.fail(msgId);
    }
}
