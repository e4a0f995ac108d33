/*
 * IoTDB's own Java clients (iotdb-session and iotdb-jdbc from Maven Central) against a pipecore
 * node. Run by tests/clients/test_client_java.py: one JVM writes tablets (aligned and not, every
 * data type, nulls) and records through Session and SessionPool, creates series (alias, tags,
 * attributes, aligned, a schema template), deletes data and series, then reads everything back
 * through Session queries, SessionPool and JDBC executeQuery, printing what it read. The Python test compares the printout
 * with what pipecore's own SELECT returns for the same statement.
 *
 * Output: tab-separated lines
 *   QUERY  <label> <api> <sql the Python side runs for the same rows>
 *   COLS   <label> <column name>...
 *   TYPES  <label> <data type>...
 *   ROW    <label> <time> <value>...        (\N is a null; text escapes \t \n \\)
 *   BATCH  <JDBC executeBatch's update counts>
 *   EXISTS <checkTimeseriesExists of a created series> <... of a deleted one>
 *   DONE
 */

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.Statement;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.iotdb.common.rpc.thrift.TAggregationType;
import org.apache.iotdb.isession.SessionDataSet;
import org.apache.iotdb.isession.pool.SessionDataSetWrapper;
import org.apache.iotdb.session.Session;
import org.apache.iotdb.session.pool.SessionPool;
import org.apache.tsfile.enums.TSDataType;
import org.apache.tsfile.file.metadata.enums.CompressionType;
import org.apache.tsfile.file.metadata.enums.TSEncoding;
import org.apache.tsfile.read.common.Field;
import org.apache.tsfile.read.common.RowRecord;
import org.apache.tsfile.utils.Binary;
import org.apache.tsfile.write.record.Tablet;
import org.apache.tsfile.write.schema.IMeasurementSchema;
import org.apache.tsfile.write.schema.MeasurementSchema;

public class ClientCheck {

  static final String DB = "root.jv";

  static final String[] D1_NAMES = {
    "s_bool", "s_int32", "s_int64", "s_float", "s_double",
    "s_text", "s_string", "s_blob", "s_date", "s_ts"
  };
  static final TSDataType[] D1_TYPES = {
    TSDataType.BOOLEAN, TSDataType.INT32, TSDataType.INT64, TSDataType.FLOAT, TSDataType.DOUBLE,
    TSDataType.TEXT, TSDataType.STRING, TSDataType.BLOB, TSDataType.DATE, TSDataType.TIMESTAMP
  };

  /** The value of tablet cell (row r, column c) of root.jv.d1; null where (r + c) % 4 == 0. */
  static Object d1Value(int r, int c) {
    if ((r + c) % 4 == 0) {
      return null;
    }
    switch (c) {
      case 0: return r % 2 == 0;
      case 1: return r * 10 - 25;
      case 2: return r * 1_000_000_000_000L;
      case 3: return r * 1.1f;
      case 4: return r / 3.0;
      case 5: return "text-" + r + "-\u00e9\u6c34";
      case 6: return "str" + r;
      case 7: return new byte[] {(byte) r, (byte) 0xff, 0};
      case 8: return LocalDate.of(2024, 1, r);
      default: return 1_700_000_000_000L + r;
    }
  }

  static Tablet tablet(String device, String[] names, TSDataType[] types, int rows,
                       java.util.function.BiFunction<Integer, Integer, Object> value) {
    List<IMeasurementSchema> schemas = new ArrayList<>();
    for (int c = 0; c < names.length; c++) {
      schemas.add(new MeasurementSchema(names[c], types[c]));
    }
    Tablet tablet = new Tablet(device, schemas, rows);
    tablet.initBitMaps();
    for (int row = 0; row < rows; row++) {
      int r = row + 1;
      tablet.addTimestamp(row, r);
      for (int c = 0; c < names.length; c++) {
        Object v = value.apply(r, c);
        if (v == null) {
          tablet.getBitMaps()[c].mark(row);
          continue;
        }
        switch (types[c]) {
          case BOOLEAN: tablet.addValue(row, c, (boolean) (Boolean) v); break;
          case INT32: tablet.addValue(row, c, (int) (Integer) v); break;
          case INT64: case TIMESTAMP: tablet.addValue(row, c, (long) (Long) v); break;
          case FLOAT: tablet.addValue(row, c, (float) (Float) v); break;
          case DOUBLE: tablet.addValue(row, c, (double) (Double) v); break;
          case TEXT: case STRING: tablet.addValue(row, c, (String) v); break;
          case BLOB: tablet.addValue(row, c, (byte[]) v); break;
          case DATE: tablet.addValue(row, c, (LocalDate) v); break;
          default: throw new IllegalStateException("type " + types[c]);
        }
      }
    }
    tablet.setRowSize(rows);
    return tablet;
  }

  static String esc(String s) {
    return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n");
  }

  static String hex(byte[] b) {
    StringBuilder sb = new StringBuilder();
    for (byte x : b) {
      sb.append(String.format("%02x", x & 0xff));
    }
    return sb.toString();
  }

  static String fieldText(Field f) {
    if (f == null || f.getDataType() == null) {
      return "\\N";
    }
    switch (f.getDataType()) {
      case BOOLEAN: return Boolean.toString(f.getBoolV());
      case INT32: return Integer.toString(f.getIntV());
      case INT64: case TIMESTAMP: return Long.toString(f.getLongV());
      case FLOAT: return Float.toString(f.getFloatV());
      case DOUBLE: return Double.toString(f.getDoubleV());
      case TEXT: case STRING: return esc(f.getBinaryV().getStringValue(StandardCharsets.UTF_8));
      case BLOB: return hex(f.getBinaryV().getValues());
      case DATE: return f.getDateV().toString();
      default: return "?" + f.getDataType();
    }
  }

  static void printSession(String label, String api, String sql, SessionDataSet ds)
      throws Exception {
    printRows(label, api, sql, ds.getColumnNames(), ds.getColumnTypes(), ds::hasNext, ds::next);
    ds.closeOperationHandle();
  }

  interface Call<T> {
    T call() throws Exception;
  }

  static void printRows(String label, String api, String sql, List<String> columns,
                        List<String> types, Call<Boolean> hasNext, Call<RowRecord> next)
      throws Exception {
    System.out.println("QUERY\t" + label + "\t" + api + "\t" + sql);
    System.out.println("COLS\t" + label + "\t" + String.join("\t", columns));
    System.out.println("TYPES\t" + label + "\t" + String.join("\t", types));
    while (hasNext.call()) {
      RowRecord rec = next.call();
      StringBuilder sb = new StringBuilder("ROW\t" + label + "\t" + rec.getTimestamp());
      for (Field f : rec.getFields()) {
        sb.append('\t').append(fieldText(f));
      }
      System.out.println(sb);
    }
  }

  static void printJdbc(Statement st, String label, String sql) throws Exception {
    System.out.println("QUERY\t" + label + "\tjdbc\t" + sql);
    try (ResultSet rs = st.executeQuery(sql)) {
      ResultSetMetaData md = rs.getMetaData();
      int n = md.getColumnCount();
      StringBuilder cols = new StringBuilder("COLS\t" + label);
      StringBuilder types = new StringBuilder("TYPES\t" + label);
      for (int i = 1; i <= n; i++) {
        cols.append('\t').append(md.getColumnName(i));
        types.append('\t').append(md.getColumnTypeName(i));
      }
      System.out.println(cols);
      System.out.println(types);
      // an aggregation's result has no Time column
      boolean hasTime = "Time".equals(md.getColumnName(1));
      while (rs.next()) {
        StringBuilder sb = new StringBuilder(
            "ROW\t" + label + "\t" + (hasTime ? Long.toString(rs.getLong(1)) : "-"));
        for (int i = hasTime ? 2 : 1; i <= n; i++) {
          sb.append('\t').append(jdbcText(rs, i, md.getColumnTypeName(i)));
        }
        System.out.println(sb);
      }
    }
  }

  static String jdbcText(ResultSet rs, int i, String type) throws Exception {
    if (rs.getObject(i) == null) {
      return "\\N";
    }
    switch (type) {
      case "BOOLEAN": return Boolean.toString(rs.getBoolean(i));
      case "INT32": return Integer.toString(rs.getInt(i));
      case "INT64": case "TIMESTAMP": return Long.toString(rs.getLong(i));
      case "FLOAT": return Float.toString(rs.getFloat(i));
      case "DOUBLE": return Double.toString(rs.getDouble(i));
      case "BLOB": return hex(rs.getBytes(i));
      case "DATE": return rs.getDate(i).toLocalDate().toString();
      default: return esc(rs.getString(i));
    }
  }

  public static void main(String[] args) throws Exception {
    String host = args[0];
    int port = Integer.parseInt(args[1]);
    Session session = new Session.Builder().host(host).port(port)
        .username("root").password("root").build();
    session.open(false);
    session.createDatabase(DB);

    // tablets: not aligned (every data type, nulls), aligned (nulls)
    session.insertTablet(tablet(DB + ".d1", D1_NAMES, D1_TYPES, 6, ClientCheck::d1Value));
    String[] d2Names = {"s_int32", "s_double", "s_text", "s_date"};
    TSDataType[] d2Types = {TSDataType.INT32, TSDataType.DOUBLE, TSDataType.TEXT, TSDataType.DATE};
    session.insertAlignedTablet(tablet(DB + ".d2", d2Names, d2Types, 4, (r, c) -> {
      if ((r + c) % 3 == 0) {
        return null;
      }
      switch (c) {
        case 0: return -r;
        case 1: return r + 0.25;
        case 2: return "aligned" + r;
        default: return LocalDate.of(1999, 12, 31).plusDays(r);
      }
    }));

    // records: typed, several devices' records, string records (IoTDB's type inference),
    // records of one device
    String d3 = DB + ".d3";
    List<String> tempStatus = Arrays.asList("temperature", "status");
    List<TSDataType> floatBool = Arrays.asList(TSDataType.FLOAT, TSDataType.BOOLEAN);
    session.insertRecord(d3, 1, tempStatus, floatBool, 20.5f, true);
    session.insertRecords(Arrays.asList(d3, d3), Arrays.asList(2L, 3L),
        Arrays.asList(tempStatus, Arrays.asList("temperature")),
        Arrays.asList(floatBool, Arrays.asList(TSDataType.FLOAT)),
        Arrays.asList(Arrays.<Object>asList(21.25f, false), Arrays.<Object>asList(22.0f)));
    session.insertRecord(d3, 4, tempStatus, Arrays.asList("23.5", "true"));
    session.insertRecord(d3, 5, Arrays.asList("note"), Arrays.asList("hello world"));
    session.insertRecordsOfOneDevice(d3, Arrays.asList(6L, 7L),
        Arrays.asList(tempStatus, tempStatus),
        Arrays.asList(floatBool, floatBool),
        Arrays.asList(Arrays.<Object>asList(24.75f, true), Arrays.<Object>asList(-1.5f, false)));

    String d4 = DB + ".d4";
    List<String> ab = Arrays.asList("a", "b");
    List<TSDataType> longText = Arrays.asList(TSDataType.INT64, TSDataType.TEXT);
    session.insertAlignedRecord(d4, 1, ab, longText, Arrays.<Object>asList(1L << 40, "x"));
    session.insertAlignedRecords(Arrays.asList(d4, d4), Arrays.asList(2L, 3L),
        Arrays.asList(ab, Arrays.asList("a")),
        Arrays.asList(longText, Arrays.asList(TSDataType.INT64)),
        Arrays.asList(Arrays.<Object>asList(-7L, "y"), Arrays.<Object>asList(0L)));
    session.insertAlignedRecordsOfOneDevice(d4, Arrays.asList(4L, 5L),
        Arrays.asList(ab, ab), Arrays.asList(longText, longText),
        Arrays.asList(Arrays.<Object>asList(4L, "z"), Arrays.<Object>asList(5L, "w")));

    // schema calls (alias, tags, attributes, aligned, several series), a schema template,
    // deletions, and an aggregation through the Session call
    Map<String, String> tags = new HashMap<>();
    tags.put("unit", "C");
    Map<String, String> attributes = new HashMap<>();
    attributes.put("loc", "hall");
    session.createTimeseries(DB + ".d7.temp", TSDataType.FLOAT, TSEncoding.GORILLA,
        CompressionType.SNAPPY, null, tags, attributes, "t");
    session.insertRecord(DB + ".d7", 1, Arrays.asList("temp"), Arrays.asList(TSDataType.FLOAT),
        21.5f);
    session.createAlignedTimeseries(DB + ".d8", Arrays.asList("a", "b"),
        Arrays.asList(TSDataType.INT64, TSDataType.TEXT),
        Arrays.asList(TSEncoding.TS_2DIFF, TSEncoding.PLAIN),
        Arrays.asList(CompressionType.LZ4, CompressionType.LZ4), null);
    session.createMultiTimeseries(Arrays.asList(DB + ".d9.x", DB + ".d9.y"),
        Arrays.asList(TSDataType.DOUBLE, TSDataType.BOOLEAN),
        Arrays.asList(TSEncoding.GORILLA, TSEncoding.RLE),
        Arrays.asList(CompressionType.SNAPPY, CompressionType.SNAPPY), null, null, null, null);
    for (long time = 1; time <= 4; time++) {
      session.insertRecord(DB + ".d9", time, Arrays.asList("x", "y"),
          Arrays.asList(TSDataType.DOUBLE, TSDataType.BOOLEAN), time * 1.5, time % 2 == 0);
    }
    session.deleteData(Arrays.asList(DB + ".d9.x"), 2, 3);  // both ends included
    session.deleteTimeseries(DB + ".d9.y");
    System.out.println("EXISTS\t" + session.checkTimeseriesExists(DB + ".d7.temp") + "\t"
        + session.checkTimeseriesExists(DB + ".d9.y"));
    session.createSchemaTemplate("jv_template", Arrays.asList("m1", "m2"),
        Arrays.asList(TSDataType.INT32, TSDataType.DOUBLE),
        Arrays.asList(TSEncoding.RLE, TSEncoding.GORILLA),
        Arrays.asList(CompressionType.LZ4, CompressionType.LZ4), false);
    session.setSchemaTemplate("jv_template", DB + ".tpl");
    session.insertRecord(DB + ".tpl.dev", 1, Arrays.asList("m1"),
        Arrays.asList(TSDataType.INT32), 7);
    printSession("agg", "session.aggregation",
        "select count(x), sum(x) from root.jv.d9",
        session.executeAggregationQuery(Arrays.asList(DB + ".d9.x", DB + ".d9.x"),
            Arrays.asList(TAggregationType.COUNT, TAggregationType.SUM)));

    // reads through Session
    String[] sqls = {
      "select * from root.jv.d1",
      "select * from root.jv.d2",
      "select * from root.jv.d3",
      "select * from root.jv.d4",
      "select count(s_int32), max_value(s_double), last_value(s_text) from root.jv.d1",
      "select * from root.jv.d1 where time > 1000",  // no rows: the clients get no TsBlock
      "show timeseries root.jv.d7.**",
      "show timeseries root.jv.d8.**",
      "select * from root.jv.d9",
      "show timeseries root.jv.tpl.**",
    };
    for (int i = 0; i < sqls.length; i++) {
      printSession("s" + i, "session", sqls[i], session.executeQueryStatement(sqls[i]));
    }
    printSession("raw", "session.raw",
        "select s_int32, s_double from root.jv.d1 where time >= 2 and time < 5",
        session.executeRawDataQuery(
            Arrays.asList("root.jv.d1.s_int32", "root.jv.d1.s_double"), 2, 5));
    printSession("last", "session.last",
        "select last d1.s_int64, d3.temperature from root.jv",
        session.executeLastDataQuery(
            Arrays.asList("root.jv.d1.s_int64", "root.jv.d3.temperature")));

    // SessionPool (it asks the node for its data nodes with SHOW DATANODES, as IoTDB's does)
    SessionPool pool = new SessionPool.Builder().host(host).port(port)
        .user("root").password("root").maxSize(2).build();
    try {
      String[] d6Names = {"n", "s"};
      TSDataType[] d6Types = {TSDataType.INT64, TSDataType.STRING};
      pool.insertTablet(tablet(DB + ".d6", d6Names, d6Types, 3,
          (r, c) -> r == 2 && c == 1 ? null : c == 0 ? (Object) (long) (r * r) : "pool" + r));
      pool.insertRecords(Arrays.asList(DB + ".d6"), Arrays.asList(4L),
          Arrays.asList(Arrays.asList("n", "s")), Arrays.asList(Arrays.asList("16", "pool4")));
      String sql = "select * from root.jv.d6";
      SessionDataSetWrapper w = pool.executeQueryStatement(sql);
      printRows("p0", "pool", sql, w.getColumnNames(), w.getColumnTypes(), w::hasNext, w::next);
      pool.closeResultSet(w);
    } finally {
      pool.close();
    }

    // reads (and one write) through JDBC
    Class.forName("org.apache.iotdb.jdbc.IoTDBDriver");
    try (Connection conn = DriverManager.getConnection(
             "jdbc:iotdb://" + host + ":" + port + "/", "root", "root");
         Statement st = conn.createStatement()) {
      st.execute("insert into root.jv.d5(time, x) values(1, 1.5)");
      st.addBatch("insert into root.jv.d5(time, x) values(2, 2.5)");
      st.addBatch("insert into root.jv.d5(time, x) values(3, 3.5)");
      System.out.println("BATCH\t" + Arrays.toString(st.executeBatch()));
      for (int i = 0; i < sqls.length; i++) {
        printJdbc(st, "j" + i, sqls[i]);
      }
      printJdbc(st, "j" + sqls.length, "select x from root.jv.d5");
    }
    session.close();
    System.out.println("DONE");
  }
}
