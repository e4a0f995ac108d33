/*
 * Seed 004's FlinkIoTDBSource, built against org.apache.iotdb:flink-iotdb-connector from Maven
 * Central and run on a local mini-cluster against `pipecore serve`. The port comes from the
 * command line; every row read is printed on a line of its own, prefixed "ROW\t".
 *
 * usage: FlinkIoTDBSource <port>
 */
package org.apache.iotdb.flink;

import org.apache.iotdb.flink.options.IoTDBSourceOptions;
import org.apache.iotdb.rpc.IoTDBConnectionException;
import org.apache.iotdb.rpc.StatementExecutionException;
import org.apache.iotdb.rpc.TSStatusCode;
import org.apache.iotdb.session.Session;
import org.apache.iotdb.tsfile.file.metadata.enums.CompressionType;
import org.apache.iotdb.tsfile.file.metadata.enums.TSDataType;
import org.apache.iotdb.tsfile.file.metadata.enums.TSEncoding;
import org.apache.iotdb.tsfile.read.common.RowRecord;

import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.SinkFunction;

import java.util.ArrayList;
import java.util.List;

public class FlinkIoTDBSource {

  static final String LOCAL_HOST = "127.0.0.1";
  static final String ROOT_SG1_D1_S1 = "root.sg1.d1.s1";
  static final String ROOT_SG1_D1 = "root.sg1.d1";

  public static void main(String[] args) throws Exception {
    int port = Integer.parseInt(args[0]);
    prepareData(port);

    // run the flink job on local mini cluster
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();

    IoTDBSourceOptions ioTDBSourceOptions =
        new IoTDBSourceOptions(
            "127.0.0.1", port, "root", "root", "select s1 from " + ROOT_SG1_D1 + " align by device");

    env.addSource(
            new IoTDBSource<RowRecord>(ioTDBSourceOptions) {
              @Override
              public RowRecord convert(RowRecord rowRecord) {
                return rowRecord;
              }
            })
        .name("sensor-source")
        .addSink(
            new SinkFunction<RowRecord>() {
              @Override
              public void invoke(RowRecord row, Context context) {
                System.out.println("ROW\t" + row);
              }
            })
        .setParallelism(2);

    env.execute();
  }

  /** Write some data to IoTDB */
  private static void prepareData(int port)
      throws IoTDBConnectionException, StatementExecutionException {
    Session session = new Session(LOCAL_HOST, port, "root", "root");
    session.open(false);
    try {
      session.setStorageGroup("root.sg1");
      if (!session.checkTimeseriesExists(ROOT_SG1_D1_S1)) {
        session.createTimeseries(
            ROOT_SG1_D1_S1, TSDataType.INT64, TSEncoding.RLE, CompressionType.SNAPPY);
        List<String> measurements = new ArrayList<>();
        List<TSDataType> types = new ArrayList<>();
        measurements.add("s1");
        measurements.add("s2");
        measurements.add("s3");
        types.add(TSDataType.INT64);
        types.add(TSDataType.INT64);
        types.add(TSDataType.INT64);

        for (long time = 0; time < 100; time++) {
          List<Object> values = new ArrayList<>();
          values.add(1L);
          values.add(2L);
          values.add(3L);
          session.insertRecord(ROOT_SG1_D1, time, measurements, types, values);
        }
      }
    } catch (StatementExecutionException e) {
      if (e.getStatusCode() != TSStatusCode.PATH_ALREADY_EXIST_ERROR.getStatusCode()) {
        throw e;
      }
    } finally {
      session.close();
    }
  }
}
