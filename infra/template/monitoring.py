"""Write the alarms and the dashboard of template.yaml from the functions and queues it declares.

Usage: python -m infra.template.monitoring [--check] [TEMPLATE]

The output replaces the lines between the BEGIN and END marker comments of
the template and nothing else, so the rest of the file stays hand-kept. Run it
(`make monitoring`) after adding or removing a function or a queue. `--check`
changes nothing and exits 1 when the region is stale. Exits 2 when the
template lacks the markers or something the alarms need.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

from infra.local.template import TemplateError
from infra.template.alarms import alarm_resources
from infra.template.dashboard import dashboard_resource
from infra.template.intrinsics import GetAtt, Ref, Sub
from infra.template.resources import read_resources

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
BEGIN_MARKER = "  # BEGIN generated monitoring"
END_MARKER = "  # END generated monitoring"
HEADER = (
    "  # Written by `make monitoring` (infra/template/monitoring.py) from the\n"
    "  # functions and queues of this template: change the generator, not these lines.\n"
)
DASHBOARD_ID = "MonitoringDashboard"
SHORT_TAGS = ("!Ref", "!GetAtt", "!Sub")


class _Dumper(yaml.SafeDumper):
    """A YAML writer with the short intrinsic tags and the list indentation of template.yaml."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        # Lists are indented under their key in the rest of the template.
        super().increase_indent(flow, False)

    def choose_scalar_style(self) -> str:
        # PyYAML quotes every scalar with an explicit tag; CloudFormation's short forms read better plain (!Ref AlarmTopic).
        if self.event.tag in SHORT_TAGS and not self.event.style:
            if self.analysis is None:
                self.analysis = self.analyze_scalar(self.event.value)
            allowed = self.analysis.allow_flow_plain if self.flow_level else self.analysis.allow_block_plain
            if allowed and not self.analysis.multiline:
                return ""
        return super().choose_scalar_style()


def _represent_sub(dumper: yaml.SafeDumper, value: Sub) -> yaml.Node:
    return dumper.represent_scalar("!Sub", value, style="|" if "\n" in value else None)


def _represent_list(dumper: yaml.SafeDumper, value: list) -> yaml.Node:
    # Lists of scalars or of mappings of scalars (Dimensions, AlarmActions) fit on one line.
    flat = all(_is_scalar(item) or (isinstance(item, dict) and all(_is_scalar(entry) for entry in item.values())) for item in value)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flat)


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, (dict, list))


_Dumper.add_representer(list, _represent_list)
_Dumper.add_representer(Ref, lambda dumper, value: dumper.represent_scalar("!Ref", value))
_Dumper.add_representer(GetAtt, lambda dumper, value: dumper.represent_scalar("!GetAtt", value))
_Dumper.add_representer(Sub, _represent_sub)


def generated_resources(hand_kept: str) -> dict[str, dict[str, Any]]:
    """Return the generated resources by logical id, the alarms and then the dashboard, for the template's hand-kept text.

    Raises TemplateError when the hand-kept text already declares one of them.
    """
    resources = read_resources(hand_kept)
    generated = alarm_resources(resources)
    generated[DASHBOARD_ID] = dashboard_resource(resources)

    clashes = sorted(resources.declared & set(generated))
    if clashes:
        raise TemplateError(f"template.yaml declares {', '.join(clashes)} outside the generated region; remove them there, the generator writes them")
    return generated


def render_region(hand_kept: str) -> str:
    """Return the text that belongs between the marker lines, indented as entries of Resources.

    `hand_kept` is the template without its generated region, so that a
    broken or stale region never feeds into the new one.
    """
    blocks = []
    for logical_id, resource in generated_resources(hand_kept).items():
        text = yaml.dump({logical_id: resource}, Dumper=_Dumper, sort_keys=False, width=1000, allow_unicode=True)
        blocks.append("".join(f"  {line}" if line.strip() else line for line in text.splitlines(keepends=True)))
    return HEADER + "\n".join(blocks)


def split_template(text: str) -> tuple[str, str, str]:
    """Split the template into the text up to the BEGIN marker line, the region, and the rest from the END marker line.

    Raises TemplateError unless each marker appears exactly once, BEGIN first.
    """
    lines = text.splitlines(keepends=True)
    begins = [index for index, line in enumerate(lines) if line.rstrip("\n") == BEGIN_MARKER]
    ends = [index for index, line in enumerate(lines) if line.rstrip("\n") == END_MARKER]
    if len(begins) != 1 or len(ends) != 1 or begins[0] > ends[0]:
        raise TemplateError(
            f"template.yaml needs one line {BEGIN_MARKER.strip()!r} followed by one line {END_MARKER.strip()!r} "
            f"inside Resources; found {len(begins)} and {len(ends)}"
        )
    begin, end = begins[0], ends[0]
    return "".join(lines[: begin + 1]), "".join(lines[begin + 1 : end]), "".join(lines[end:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the alarms and the dashboard of template.yaml from its functions and queues.")
    parser.add_argument("template", nargs="?", type=Path, default=TEMPLATE, help="the SAM template (default: template.yaml)")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 when the generated region is stale")
    arguments = parser.parse_args(argv)

    try:
        head, region, tail = split_template(arguments.template.read_text())
        expected = render_region(head + tail)
    except TemplateError as error:
        print(f"{arguments.template}: {error}", file=sys.stderr)
        return 2
    if region == expected:
        print(f"{arguments.template}: the generated monitoring region is up to date")
        return 0
    if arguments.check:
        print(f"{arguments.template}: the generated monitoring region is stale; run `make monitoring`", file=sys.stderr)
        return 1
    arguments.template.write_text(head + expected + tail)
    print(f"{arguments.template}: rewrote the generated monitoring region")
    return 0


if __name__ == "__main__":
    sys.exit(main())
