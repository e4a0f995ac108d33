"""Schema templates (the Session's template calls and the SQL forms), ALTER TIMESERIES, tag
queries and the cluster-information statements, through the official client."""

from __future__ import annotations

import pytest
from iotdb.template.MeasurementNode import MeasurementNode
from iotdb.template.Template import Template
from iotdb.utils.exception import StatementExecutionException
from iotdb.utils.IoTDBConstants import Compressor, TSDataType, TSEncoding
from iotdb.utils.Tablet import Tablet

# the official client marks its template calls deprecated (it still sends them)
pytestmark = pytest.mark.filterwarnings("ignore:The APIs about template:DeprecationWarning")


def table(session, sql: str) -> list[list[str]]:
    with session.execute_query_statement(sql) as ds:
        out = []
        while ds.has_next():
            out.append([str(f) for f in ds.next().get_fields()])
        return out


def code_of(call) -> int:
    with pytest.raises(StatementExecutionException) as caught:
        call()
    return int(str(caught.value).split(":")[0])


def _template(name: str, *measurements: str) -> Template:
    template = Template(name=name, share_time=False)
    for m in measurements:
        template.add_template(
            MeasurementNode(m, TSDataType.INT64, TSEncoding.RLE, Compressor.SNAPPY)
        )
    return template


def test_template_calls_list_measurements_in_iotdb_order(session, db):
    name = f"tpl_{db.split('.')[1]}"
    session.create_schema_template(_template(name, "s1", "s2", "s3"))
    assert session.show_measurements_in_template(name) == ["s3", "s1", "s2"]  # IoTDB's order
    assert session.count_measurements_in_template(name) == 3
    assert session.is_measurement_in_template(name, "s2")
    assert not session.is_path_exist_in_template(name, "s9")
    assert name in session.show_all_templates()
    assert code_of(lambda: session.create_schema_template(_template(name, "x"))) == 511
    session.add_measurements_in_template(
        name, ["s4"], [TSDataType.DOUBLE], [TSEncoding.GORILLA], [Compressor.LZ4]
    )
    assert session.count_measurements_in_template(name) == 4
    session.delete_node_in_template(name, "s4")
    session.drop_schema_template(name)
    assert code_of(lambda: session.drop_schema_template(name)) == 512


def test_set_activate_write_and_unset_a_template(session, db):
    name = f"gps_{db.split('.')[1]}"
    session.create_schema_template(_template(name, "x", "y"))
    session.set_storage_group(db)
    session.set_schema_template(name, f"{db}.GPS")
    assert code_of(lambda: session.drop_schema_template(name)) == 515
    # IoTDB's own template test writes "schemaengine" for "schema": accepted as a synonym
    session.execute_non_query_statement(f"create timeseries of schemaengine template on {db}.GPS")
    assert session.show_paths_template_set_on(name) == [f"{db}.GPS"]
    assert session.show_paths_template_using_on(name) == [f"{db}.GPS"]
    assert [r[0] for r in table(session, f"show timeseries {db}.GPS.*")] == [
        f"{db}.GPS.x",
        f"{db}.GPS.y",
    ]
    # a device below the set path gets the template's series on its first write
    session.insert_tablet(Tablet(f"{db}.GPS.car", ["x"], [TSDataType.INT64], [[7]], [1]))
    assert table(session, f"show timeseries {db}.GPS.car.y")[0][3] == "INT64"
    assert code_of(lambda: session.unset_schema_template(name, f"{db}.GPS")) == 515
    session.execute_non_query_statement(f"delete timeseries of schema template from {db}.GPS.**")
    session.execute_non_query_statement(f"deactivate schema template {name} from {db}.GPS")
    session.unset_schema_template(name, f"{db}.GPS")
    session.drop_schema_template(name)
    assert table(session, f"count timeseries {db}.**") == [["0"]]


def test_template_sql_forms(session, db):
    name = f"sql_{db.split('.')[1]}"
    session.execute_non_query_statement(
        f"create schema template {name} aligned (lat FLOAT encoding=GORILLA, lon DOUBLE)"
    )
    assert table(session, f"show nodes in schema template {name}") == [  # IoTDB's order
        ["lon", "DOUBLE", "GORILLA", "LZ4"],
        ["lat", "FLOAT", "GORILLA", "LZ4"],
    ]
    session.execute_non_query_statement(f"set device template {name} to {db}.fleet")
    session.execute_non_query_statement(f"insert into {db}.fleet.v1(time, lat) values(1, 2.5)")
    assert table(session, f"show paths using schema template {name}") == [[f"{db}.fleet.v1"]]
    assert table(session, f"show paths set schema template {name}") == [[f"{db}.fleet"]]
    assert table(session, f"show devices {db}.fleet.v1")[0][1] == "true"
    assert [name] in table(session, "show schema templates")


def test_alter_timeseries_and_tag_queries(session, db):
    s1 = f"{db}.d.s1"
    session.execute_non_query_statement(
        f"create timeseries {s1}(temp) with datatype=FLOAT tags(unit=c) attributes(loc=x)"
    )
    session.execute_non_query_statement(f"alter timeseries {s1} add tags site=a")
    session.execute_non_query_statement(f"alter timeseries {s1} add attributes owner=me")
    session.execute_non_query_statement(f"alter timeseries {s1} rename loc to place")
    session.execute_non_query_statement(f"alter timeseries {s1} set unit=k")
    session.execute_non_query_statement(f"alter timeseries {s1} drop owner")
    session.execute_non_query_statement(f"alter timeseries {s1} upsert alias=t2 tags(v=1)")
    row = table(session, f"show timeseries {db}.** where tags(site)=a")[0]
    assert row[:2] == [s1, "t2"]
    assert row[6:8] == ['{"unit":"k","site":"a","v":"1"}', '{"place":"x"}']
    assert table(session, f"show timeseries {db}.** where tags(unit) contains q") == []
    assert table(session, f"count timeseries {db}.** where tags(v)=1") == [["1"]]
    with pytest.raises(StatementExecutionException, match="does not have"):
        session.execute_non_query_statement(f"alter timeseries {s1} set nope=1")
    session.execute_non_query_statement(f"insert into {db}.d(time, t2) values(1, 1.5)")
    assert table(session, f"select t2 from {db}.d") == [["1.5"]]


def test_cluster_information(session, server):
    cluster = table(session, "show cluster")
    assert cluster == [["0", "DataNode", "Running", "127.0.0.1", str(server.port), cluster[0][5],
                        "pipecore"]]  # fmt: skip
    with session.execute_statement("SHOW CLUSTER") as ds:  # what IoTDB's test container checks
        assert ds.next().get_fields()[2].get_string_value() == "Running"
    assert len(table(session, "show cluster details")[0]) == 13
    assert len(table(session, "show clusterid")[0][0]) > 0
    variables = dict(table(session, "show variables"))
    assert variables["TimestampPrecision"] == "ms" and variables["DataReplicationFactor"] == "1"
    assert table(session, "show version")[0][1] == "pipecore"
    with session.execute_query_statement("count databases") as ds:
        assert ds.get_column_names() == ["count"]  # IoTDB's CountDatabaseTask
        assert ds.get_column_types() == [TSDataType.INT32]
    with session.execute_query_statement("count timeseries") as ds:
        assert ds.get_column_types() == [TSDataType.INT64]


def test_show_regions(session, db):
    session.set_storage_group(db)
    rows = table(session, f"show regions of database {db}")
    assert [(r[1], r[2], r[3]) for r in rows] == [
        ("SchemaRegion", "Running", db),
        ("DataRegion", "Running", db),
    ]
    assert [r[1] for r in table(session, f"show data regions of database {db}")] == ["DataRegion"]


def test_show_datanodes_is_what_the_java_session_reads(session, server, db):
    # IoTDB's Java Session (NodesSupplier) runs SHOW DATANODES and reads RpcAddress, RpcPort
    # and Status of each row
    session.set_storage_group(db)
    with session.execute_query_statement("SHOW DATANODES") as ds:
        assert ds.get_column_names() == ["NodeID", "Status", "RpcAddress", "RpcPort",
                                         "DataRegionNum", "SchemaRegionNum"]  # fmt: skip
        assert ds.get_column_types()[:4] == [TSDataType.INT32, TSDataType.TEXT,
                                             TSDataType.TEXT, TSDataType.INT32]  # fmt: skip
        rows = []
        while ds.has_next():
            rows.append([str(f) for f in ds.next().get_fields()])
    databases = int(table(session, "count databases")[0][0])
    assert databases >= 1
    assert rows == [["0", "Running", "127.0.0.1", str(server.port), str(databases),
                     str(databases)]]  # fmt: skip


def test_show_databases_details_has_iotdb_columns_and_types(session, db):
    session.set_storage_group(db)
    with session.execute_query_statement(f"show databases {db}") as ds:
        assert ds.get_column_names() == ["Database", "SchemaReplicationFactor",
                                         "DataReplicationFactor", "TimePartitionOrigin",
                                         "TimePartitionInterval"]  # fmt: skip
        assert ds.get_column_types() == [TSDataType.TEXT, TSDataType.INT32, TSDataType.INT32,
                                         TSDataType.INT64, TSDataType.INT64]  # fmt: skip
    with session.execute_query_statement(f"show databases details {db}") as ds:
        assert ds.get_column_names()[5:] == [
            "SchemaRegionGroupNum", "MinSchemaRegionGroupNum", "MaxSchemaRegionGroupNum",
            "DataRegionGroupNum", "MinDataRegionGroupNum", "MaxDataRegionGroupNum",
        ]  # fmt: skip
        row = ds.next()
        assert row.get_fields()[0].get_string_value() == db
        assert [f.get_int_value() for f in row.get_fields()[5:]] == [1] * 6
        assert not ds.has_next()
