/*
 * Seed 004's FlinkIoTDBSink, built against org.apache.iotdb:flink-iotdb-connector from Maven
 * Central and run on a local mini-cluster against `pipecore serve`. Two changes from the seed:
 * the server's port and the number of records come from the command line, and SensorSource
 * stops after that many records (one millisecond apart, no sleep) so the job ends.
 *
 * usage: FlinkIoTDBSink <port> <records> [batchSize] [parallelism] [storageGroup]
 * (storageGroup defaults to the seed's root.sg; the device is <storageGroup>.d1)
 */
package org.apache.iotdb.flink;

import org.apache.iotdb.flink.options.IoTDBSinkOptions;
import org.apache.iotdb.tsfile.file.metadata.enums.CompressionType;
import org.apache.iotdb.tsfile.file.metadata.enums.TSDataType;
import org.apache.iotdb.tsfile.file.metadata.enums.TSEncoding;

import com.google.common.collect.Lists;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.source.SourceFunction;

import java.security.SecureRandom;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;

public class FlinkIoTDBSink {
  public static void main(String[] args) throws Exception {
    int port = Integer.parseInt(args[0]);
    long records = Long.parseLong(args[1]);
    int batchSize = args.length > 2 ? Integer.parseInt(args[2]) : 10;
    int parallelism = args.length > 3 ? Integer.parseInt(args[3]) : 1;
    String storageGroup = args.length > 4 ? args[4] : "root.sg";
    // run the flink job on local mini cluster
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    env.setParallelism(parallelism);

    IoTDBSinkOptions options = new IoTDBSinkOptions();
    options.setHost("127.0.0.1");
    options.setPort(port);
    options.setUser("root");
    options.setPassword("root");
    options.setStorageGroup(storageGroup);

    // If the server enables auto_create_schema, then we do not need to register all timeseries
    // here.
    options.setTimeseriesOptionList(
        Lists.newArrayList(
            new IoTDBSinkOptions.TimeseriesOption(
                storageGroup + ".d1.s1", TSDataType.DOUBLE, TSEncoding.GORILLA, CompressionType.SNAPPY)));

    IoTSerializationSchema serializationSchema = new DefaultIoTSerializationSchema();
    IoTDBSink ioTDBSink =
        new IoTDBSink(options, serializationSchema)
            // enable batching
            .withBatchSize(batchSize)
            // how many connectons to the server will be created for each parallelism
            .withSessionPoolSize(3);

    long started = System.nanoTime();
    env.addSource(new SensorSource(records, storageGroup + ".d1"))
        .name("sensor-source")
        .setParallelism(1)
        .addSink(ioTDBSink)
        .name("iotdb-sink");

    env.execute("iotdb-flink-example");
    System.out.println("SECONDS\t" + (System.nanoTime() - started) / 1e9);
  }

  private static class SensorSource implements SourceFunction<Map<String, String>> {
    final long records;
    final String device;
    volatile boolean running = true;
    Random random = new SecureRandom();

    SensorSource(long records, String device) {
      this.records = records;
      this.device = device;
    }

    @Override
    public void run(SourceContext context) throws Exception {
      long start = 1_700_000_000_000L;
      for (long i = 0; running && i < records; i++) {
        Map<String, String> tuple = new HashMap();
        tuple.put("device", device);
        tuple.put("timestamp", String.valueOf(start + i));
        tuple.put("measurements", "s1");
        tuple.put("types", "DOUBLE");
        tuple.put("values", String.valueOf(random.nextDouble()));
        context.collect(tuple);
      }
    }

    @Override
    public void cancel() {
      running = false;
    }
  }
}
