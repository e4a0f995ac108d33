// Writes the bodies IoTDB's own request classes build for the pipe requests of IoTDB 2.x
// (type 11 TRANSFER_TABLET_RAW_V2, type 13 TRANSFER_TABLET_BATCH_V2) from one known tablet,
// for pipecore's receiver to decode (tests/interop/test_iotdb_bodies.py). Compiled by the test
// against the IoTDB server's class path from Maven; nothing here is committed as a binary.
//
// usage: java PipeBodies <out dir>   -> <out dir>/raw11.bin, <out dir>/batch13.bin
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import org.apache.iotdb.db.pipe.connector.payload.evolvable.request.PipeTransferTabletBatchReqV2;
import org.apache.iotdb.db.pipe.connector.payload.evolvable.request.PipeTransferTabletRawReqV2;
import org.apache.tsfile.enums.TSDataType;
import org.apache.tsfile.utils.Binary;
import org.apache.tsfile.utils.BitMap;
import org.apache.tsfile.write.schema.IMeasurementSchema;
import org.apache.tsfile.write.schema.MeasurementSchema;
import org.apache.tsfile.write.record.Tablet;

public class PipeBodies {
  static final int ROWS = 5;

  static Tablet tablet(String device) {
    List<IMeasurementSchema> schemas = new ArrayList<>();
    schemas.add(new MeasurementSchema("i", TSDataType.INT32));
    schemas.add(new MeasurementSchema("d", TSDataType.DOUBLE));
    schemas.add(new MeasurementSchema("t", TSDataType.TEXT));
    schemas.add(new MeasurementSchema("b", TSDataType.BOOLEAN));
    Tablet tablet = new Tablet(device, schemas, ROWS);
    for (int row = 0; row < ROWS; row++) {
      tablet.addTimestamp(row, 1000L + row);
      tablet.addValue("i", row, row * 10);
      tablet.addValue("d", row, row + 0.5);
      tablet.addValue("t", row, new Binary(("v" + row).getBytes()));
      tablet.addValue("b", row, row % 2 == 0);
    }
    BitMap[] bitMaps = tablet.getBitMaps();
    if (bitMaps == null) {
      tablet.initBitMaps();
      bitMaps = tablet.getBitMaps();
    }
    bitMaps[0].mark(2); // i is null at row 2
    return tablet;
  }

  static byte[] bytes(ByteBuffer body) {
    ByteBuffer copy = body.duplicate();
    byte[] out = new byte[copy.remaining()];
    copy.get(out);
    return out;
  }

  public static void main(String[] args) throws Exception {
    Path dir = Paths.get(args[0]);
    Tablet raw = tablet("root.jv.raw");
    Files.write(dir.resolve("raw11.bin"),
        bytes(PipeTransferTabletRawReqV2.toTPipeTransferReq(raw, false, null).body));
    Tablet inBatch = tablet("root.jv.batch");
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    DataOutputStream out = new DataOutputStream(buf);
    inBatch.serialize(out);
    out.writeByte(1); // isAligned
    out.flush();
    List<String> noDatabase = new ArrayList<>();
    noDatabase.add(null);
    Files.write(dir.resolve("batch13.bin"),
        bytes(PipeTransferTabletBatchReqV2.toTPipeTransferReq(
            Collections.emptyList(), Collections.emptyList(),
            Arrays.asList(ByteBuffer.wrap(buf.toByteArray())),
            Collections.emptyList(), Collections.emptyList(), noDatabase).body));
  }
}
