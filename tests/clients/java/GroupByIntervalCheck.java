import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.apache.iotdb.common.rpc.thrift.TAggregationType;
import org.apache.iotdb.service.rpc.thrift.IClientRPCService;
import org.apache.iotdb.service.rpc.thrift.TSBackupConfigurationResp;
import org.apache.iotdb.service.rpc.thrift.TSConnectionInfo;
import org.apache.iotdb.service.rpc.thrift.TSConnectionInfoResp;
import org.apache.iotdb.service.rpc.thrift.TSExecuteStatementResp;
import org.apache.iotdb.service.rpc.thrift.TSFetchMetadataReq;
import org.apache.iotdb.service.rpc.thrift.TSFetchMetadataResp;
import org.apache.iotdb.service.rpc.thrift.TSGroupByQueryIntervalReq;
import org.apache.iotdb.service.rpc.thrift.TSOpenSessionReq;
import org.apache.iotdb.service.rpc.thrift.TSOpenSessionResp;
import org.apache.iotdb.service.rpc.thrift.TSProtocolVersion;
import org.apache.iotdb.service.rpc.thrift.TSQueryDataSet;
import org.apache.thrift.protocol.TBinaryProtocol;
import org.apache.thrift.transport.TSocket;
import org.apache.thrift.transport.layered.TFramedTransport;

/**
 * The client calls no Session method wraps, made with IoTDB's own generated Java client
 * (iotdb-thrift from Maven Central): executeGroupByQueryIntervalQuery, fetchMetadata,
 * getBackupConfiguration, fetchAllConnectionsInfo. Used by tests/clients/test_client_rare_calls.py.
 *
 * <p>Arguments: host port [login|nologin] then queries, each one argument
 * "device,measurement,dataType,aggregation,start,end,interval[,database]". Prints one line per
 * answer: {@code key=value} fields separated by tabs, byte buffers in hex.
 */
public class GroupByIntervalCheck {

  private static String hex(ByteBuffer b) {
    StringBuilder s = new StringBuilder();
    ByteBuffer d = b.duplicate();
    while (d.hasRemaining()) {
      s.append(String.format("%02x", d.get()));
    }
    return s.toString();
  }

  private static List<String> hexes(List<ByteBuffer> list) {
    List<String> out = new ArrayList<>();
    if (list != null) {
      for (ByteBuffer b : list) {
        out.add(hex(b));
      }
    }
    return out;
  }

  public static void main(String[] args) throws Exception {
    TSocket socket = new TSocket(new org.apache.thrift.TConfiguration(), args[0], Integer.parseInt(args[1]), 20000);
    TFramedTransport transport = new TFramedTransport(socket);
    transport.open();
    IClientRPCService.Client client = new IClientRPCService.Client(new TBinaryProtocol(transport));
    long sessionId = 0;
    if (args[2].equals("login")) {
      TSOpenSessionReq open = new TSOpenSessionReq(TSProtocolVersion.IOTDB_SERVICE_PROTOCOL_V3, "UTC", "root");
      open.setPassword("root");
      TSOpenSessionResp opened = client.openSession(open);
      sessionId = opened.getSessionId();
      System.out.println("open\tcode=" + opened.getStatus().getCode());
    }
    TSBackupConfigurationResp backup = client.getBackupConfiguration();
    System.out.println("backup\tcode=" + backup.getStatus().getCode()
        + "\tmessage=" + backup.getStatus().getMessage()
        + "\tenableOperationSync=" + (backup.isSetEnableOperationSync() ? backup.isEnableOperationSync() : "unset")
        + "\tsecondaryAddress=" + (backup.isSetSecondaryAddress() ? backup.getSecondaryAddress() : "unset")
        + "\tsecondaryPort=" + (backup.isSetSecondaryPort() ? backup.getSecondaryPort() : "unset"));
    TSConnectionInfoResp connections = client.fetchAllConnectionsInfo();
    for (TSConnectionInfo info : connections.getConnectionInfoList()) {
      System.out.println("connection\tuser=" + info.getUserName() + "\tlogInTime=" + info.getLogInTime()
          + "\tid=" + info.getConnectionId() + "\ttype=" + info.getType());
    }
    System.out.println("connections\tcount=" + connections.getConnectionInfoListSize());
    TSFetchMetadataResp meta = client.fetchMetadata(new TSFetchMetadataReq(sessionId, "METADATA_IN_JSON"));
    System.out.println("metadata\tcode=" + meta.getStatus().getCode() + "\tmessage=" + meta.getStatus().getMessage()
        + "\tjson=" + (meta.isSetMetadataInJson() ? meta.getMetadataInJson() : "unset"));
    for (int i = 3; i < args.length; i++) {
      String[] q = args[i].split(",", -1);
      TSGroupByQueryIntervalReq req = new TSGroupByQueryIntervalReq(
          sessionId, 0, q[0], q[1], Integer.parseInt(q[2]), TAggregationType.valueOf(q[3]));
      req.setStartTime(Long.parseLong(q[4]));
      req.setEndTime(Long.parseLong(q[5]));
      req.setInterval(Long.parseLong(q[6]));
      if (q.length > 7) {
        req.setDatabase(q[7]);
      }
      TSExecuteStatementResp resp = client.executeGroupByQueryIntervalQuery(req);
      StringBuilder line = new StringBuilder("groupby\tquery=" + args[i]);
      line.append("\tcode=").append(resp.getStatus().getCode());
      line.append("\tmessage=").append(resp.getStatus().getMessage());
      line.append("\tqueryId=").append(resp.isSetQueryId() ? resp.getQueryId() : "unset");
      line.append("\tcolumns=").append(resp.getColumns());
      line.append("\tdataTypes=").append(resp.getDataTypeList());
      line.append("\tignoreTimeStamp=").append(resp.isSetIgnoreTimeStamp() ? resp.isIgnoreTimeStamp() : "unset");
      line.append("\tcolumnNameIndexMap=").append(resp.getColumnNameIndexMap());
      line.append("\tmoreData=").append(resp.isSetMoreData() ? resp.isMoreData() : "unset");
      line.append("\tqueryResult=").append(resp.isSetQueryResult() ? "set" : "unset");
      TSQueryDataSet ds = resp.getQueryDataSet();
      if (ds != null) {
        line.append("\ttime=").append(hex(ds.bufferForTime()));
        line.append("\tvalues=").append(hexes(ds.getValueList()));
        line.append("\tbitmaps=").append(hexes(ds.getBitmapList()));
      } else {
        line.append("\tqueryDataSet=unset");
      }
      System.out.println(line);
    }
    transport.close();
  }
}
