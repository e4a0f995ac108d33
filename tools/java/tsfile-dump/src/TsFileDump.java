/*
 * The Java TsFile library as a test oracle: prints every point of the TsFiles named on the
 * command line, as IoTDB's own reader sees them.
 *
 * Compiled by the tests (tests/interop/java_tsfile.py) with javac against the jars Maven
 * resolves (tools/java/tsfile-dump/pom.xml): as written, against org.apache.tsfile:tsfile 2.x;
 * for IoTDB 1.x's org.apache.iotdb:tsfile the tests compile a copy whose package prefix
 * org.apache.tsfile. is replaced by org.apache.iotdb.tsfile. (the two APIs used here differ in
 * nothing else; `var` hides that devices are IDeviceID in 2.x and String in 1.x).
 *
 * Output, one record a line, fields separated by TAB:
 *   F <file>
 *   D <device> <aligned: 1|0>
 *   S <measurement> <data type> <encoding> <compression>       (from each chunk's header)
 *   P <measurement> <time> <value>                               (non-null points only)
 * Values: booleans and integers in decimal, FLOAT/DOUBLE as the hex of their IEEE bits (exact),
 * TEXT/STRING/BLOB as the hex of their bytes, DATE as yyyymmdd.
 */

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import org.apache.tsfile.file.metadata.ChunkMetadata;
import org.apache.tsfile.file.metadata.IChunkMetadata;
import org.apache.tsfile.read.TsFileReader;
import org.apache.tsfile.read.TsFileSequenceReader;
import org.apache.tsfile.read.common.Field;
import org.apache.tsfile.read.common.Path;
import org.apache.tsfile.read.common.RowRecord;
import org.apache.tsfile.read.expression.QueryExpression;
import org.apache.tsfile.utils.Binary;

public class TsFileDump {
  private static final char[] HEX = "0123456789abcdef".toCharArray();

  public static void main(String[] args) throws IOException {
    BufferedWriter out =
        new BufferedWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8), 1 << 16);
    for (String file : args) {
      out.write("F\t" + file + "\n");
      dump(file, out);
    }
    out.flush();
  }

  private static void dump(String file, BufferedWriter out) throws IOException {
    try (TsFileSequenceReader reader = new TsFileSequenceReader(file)) {
      var all = reader.getAllTimeseriesMetadata(true);
      for (var entry : all.entrySet()) {
        var device = entry.getKey();
        String deviceName = device.toString();
        boolean aligned = false;
        Set<String> measurements = new LinkedHashSet<>();
        List<String> schemaLines = new ArrayList<>();
        for (var series : entry.getValue()) {
          String name = series.getMeasurementId();
          if (name.isEmpty()) {
            aligned = true; // the time column of an aligned device
            continue;
          }
          measurements.add(name);
          Set<String> seen = new LinkedHashSet<>();
          for (IChunkMetadata meta : series.getChunkMetadataList()) {
            var header = reader.readMemChunk((ChunkMetadata) meta).getHeader();
            seen.add(
                header.getDataType().name()
                    + "\t"
                    + header.getEncodingType().name()
                    + "\t"
                    + header.getCompressionType().name());
          }
          for (String s : seen) {
            schemaLines.add("S\t" + name + "\t" + s + "\n");
          }
        }
        out.write("D\t" + deviceName + "\t" + (aligned ? "1" : "0") + "\n");
        for (String line : schemaLines) {
          out.write(line);
        }
        points(reader, deviceName, measurements, out);
      }
    }
  }

  private static void points(
      TsFileSequenceReader seq, String device, Set<String> measurements, BufferedWriter out)
      throws IOException {
    List<Path> paths = new ArrayList<>();
    for (String m : measurements) {
      paths.add(new Path(device, m, true));
    }
    if (paths.isEmpty()) {
      return;
    }
    TsFileReader reader = new TsFileReader(seq);
    var data = reader.query(QueryExpression.create(paths, null));
    List<String> names = new ArrayList<>();
    for (Path p : data.getPaths()) {
      names.add(p.getMeasurement());
    }
    while (data.hasNext()) {
      RowRecord row = data.next();
      List<Field> fields = row.getFields();
      for (int i = 0; i < fields.size(); i++) {
        Field f = fields.get(i);
        if (f == null || f.getDataType() == null) {
          continue;
        }
        out.write("P\t" + names.get(i) + "\t" + row.getTimestamp() + "\t" + value(f) + "\n");
      }
    }
  }

  private static String value(Field f) {
    Object v = f.getObjectValue(f.getDataType());
    if (v instanceof Float) {
      return "f" + Integer.toHexString(Float.floatToRawIntBits((Float) v));
    }
    if (v instanceof Double) {
      return "d" + Long.toHexString(Double.doubleToRawLongBits((Double) v));
    }
    if (v instanceof Binary) {
      return "b" + hex(((Binary) v).getValues());
    }
    if (v instanceof LocalDate) {
      LocalDate d = (LocalDate) v;
      return String.valueOf(d.getYear() * 10000 + d.getMonthValue() * 100 + d.getDayOfMonth());
    }
    return String.valueOf(v);
  }

  private static String hex(byte[] bytes) {
    char[] chars = new char[bytes.length * 2];
    for (int i = 0; i < bytes.length; i++) {
      chars[2 * i] = HEX[(bytes[i] >> 4) & 0xf];
      chars[2 * i + 1] = HEX[bytes[i] & 0xf];
    }
    return new String(chars);
  }
}
