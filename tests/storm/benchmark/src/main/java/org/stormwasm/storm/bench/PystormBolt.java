package org.stormwasm.storm.bench;

import java.util.Map;
import org.apache.storm.task.ShellBolt;
import org.apache.storm.topology.IRichBolt;
import org.apache.storm.topology.OutputFieldsDeclarer;
import org.apache.storm.tuple.Fields;

/** A pystorm bolt run the classic multi-lang way: a ShellBolt starting {@code python3 script.py}. */
public class PystormBolt extends ShellBolt implements IRichBolt {
    private static final long serialVersionUID = 1L;
    private final String[] outputFields;

    /**
     * @param python       the Python interpreter (absolute path: the venv that has pystorm)
     * @param script       the bolt script (absolute path, so the ShellBolt's working directory does not matter)
     * @param outputFields the fields of the default stream
     */
    public PystormBolt(String python, String script, String... outputFields) {
        super(python, script);
        this.outputFields = outputFields;
    }

    @Override
    public void declareOutputFields(OutputFieldsDeclarer declarer) {
        declarer.declare(new Fields(outputFields));
    }

    @Override
    public Map<String, Object> getComponentConfiguration() {
        return null;
    }
}
