"""pipecore's schema-template records (`pipecore.schema_templates`) in IoTDB's layout, for a
real IoTDB receiver — what IoTDB's own config-region and schema-region sources send:

* ``create_template`` → CreateSchemaTemplate (config plan 800, type 200): the receiver's
  ConfigNode writes it as is and numbers the template itself (``TemplateTable`` ignores the
  sender's id);
* ``extend_template`` → ExtendSchemaTemplate (814); ``drop_template`` → DropSchemaTemplate
  (811); ``set_template`` → CommitSetSchemaTemplate (813, not a rollback: IoTDB's receiver runs
  its whole set-template procedure for it); ``unset_template`` → PipeUnsetTemplate (1701);
* ``deactivate_template`` → PipeDeactivateTemplate (1704): ``i32 n, n × (PartialPath, i32 m,
  m × Template)``. IoTDB's procedure matches the devices by the template's **id** (and takes
  the series from its measurements): the id sent is the sender's, so the receiver must number
  its templates as the sender does — a fresh receiver that got every template from this sender,
  in order (as between two IoTDBs);
* ``activate_template`` → ActivateTemplateNode (schema-region plan node 53, type 100):
  ``path, i32 templateSetLevel, i32 templateId``; IoTDB's DataNode receiver
  (``PipePlanToStatementVisitor``) keeps the path only and activates the template set over it
  there, so the level and id sent are placeholders;
* ``prune_template``: IoTDB has no such plan — left out with a warning (`template_requests`
  gives nothing).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from .config_plan import (
    PIPE_DEACTIVATE_TEMPLATE,
    CommitSetTemplate,
    CreateTemplate,
    DropTemplate,
    ExtendTemplate,
    TemplateDef,
    UnsetTemplate,
    _write_template,
    encode_config_plan,
)
from .io import BodyWriter
from .request import PipeRequestType
from .schema_region import ACTIVATE_TEMPLATE, write_partial_path

__all__ = [
    "TEMPLATE_RECORD_OPS",
    "encode_activate_template",
    "encode_deactivate_template",
    "template_requests",
]

log = logging.getLogger("pipecore.thrift_sink")

_PLAN = int(PipeRequestType.TRANSFER_SCHEMA_PLAN)
_CONFIG = int(PipeRequestType.TRANSFER_CONFIG_PLAN)
TEMPLATE_RECORD_OPS = frozenset(
    {
        "create_template",
        "extend_template",
        "prune_template",
        "drop_template",
        "set_template",
        "unset_template",
        "activate_template",
        "deactivate_template",
    }
)


def _definition(record: dict) -> TemplateDef:
    return TemplateDef(
        record["name"],
        bool(record.get("aligned", False)),
        tuple(tuple(m) for m in record.get("measurements", ())),
        int(record.get("id", 0)),
    )


def encode_activate_template(device: str, set_level: int = 0, template_id: int = 0) -> bytes:
    """An ActivateTemplateNode (53) for `device`."""
    w = BodyWriter()
    w.i16(ACTIVATE_TEMPLATE)
    write_partial_path(w, device)
    w.i32(set_level)
    w.i32(template_id)
    w.string("")  # planNodeId
    w.i32(0)  # children
    return w.getvalue()


def encode_deactivate_template(entries: list[tuple[str, list[TemplateDef]]]) -> bytes:
    """A PipeDeactivateTemplate plan (1704): per device path, the templates to deactivate."""
    w = BodyWriter()
    w.i16(PIPE_DEACTIVATE_TEMPLATE)
    w.i32(len(entries))
    for path, templates in entries:
        write_partial_path(w, path)
        w.i32(len(templates))
        for t in templates:
            _write_template(w, t)
    return w.getvalue()


def template_requests(record: dict) -> Iterator[tuple[int, bytes, int]]:
    """(request type, body, records carried) for one template record (see the module's text)."""
    op = record["op"]
    if op == "create_template":
        yield _CONFIG, encode_config_plan(CreateTemplate(_definition(record))), 1
    elif op == "extend_template":
        rows = tuple(tuple(m) for m in record["measurements"])
        yield _CONFIG, encode_config_plan(ExtendTemplate(record["name"], rows)), 1
    elif op == "drop_template":
        yield _CONFIG, encode_config_plan(DropTemplate(record["name"])), 1
    elif op == "set_template":
        plan = CommitSetTemplate(record["name"], record["path"])
        yield _CONFIG, encode_config_plan(plan), 1
    elif op == "unset_template":
        yield _CONFIG, encode_config_plan(UnsetTemplate(record["name"], record["path"])), 1
    elif op == "activate_template":
        yield _PLAN, encode_activate_template(record["device"]), 1
    elif op == "deactivate_template":
        definition = _definition(record["definition"])
        yield _CONFIG, encode_deactivate_template([(record["device"], [definition])]), 1
    elif op == "prune_template":
        log.warning(
            "template %s: the removal of its measurement %s is not sent (IoTDB has no plan for it)",
            record["name"],
            record["measurement"],
        )
