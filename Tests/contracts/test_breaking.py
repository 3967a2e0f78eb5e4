"""Proto/Generator/caravan_breaking.py flags each kind of incompatible
change and passes compatible ones; and the committed .proto files are
compatible with the last release (Proto/check-breaking.sh)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "Proto" / "Generator"))

from caravan_breaking import breaking_changes, load  # noqa: E402

RELEASE = """
syntax = "proto3";
package shop.v1;
enum Colour { COLOUR_UNSPECIFIED = 0; COLOUR_RED = 1; COLOUR_BLUE = 2; }
message Item {
  string id = 1;
  string name = 2;
  int64 price = 3;
  repeated string tags = 4;
  Colour colour = 5;
  map<string, int32> stock = 6;
  oneof origin { string country = 7; string region = 8; }
  reserved 9;
  reserved "legacy";
}
message GetItemRequest { string id = 1; }
service Shop {
  rpc GetItem(GetItemRequest) returns (Item);
  rpc WatchItem(GetItemRequest) returns (stream Item);
}
service Old { rpc Ping(GetItemRequest) returns (GetItemRequest); }
"""


def descriptor_set(tmp_path: Path, name: str, text: str):
    folder = tmp_path / name
    folder.mkdir()
    (folder / "shop.proto").write_text(text)
    out = folder / "set.binpb"
    subprocess.run(["protoc", "-I", str(folder), "--include_imports", f"--descriptor_set_out={out}", "shop.proto"],
                   check=True)
    return load(str(out))


def breaks(tmp_path: Path, old: str, new: str) -> list[str]:
    return breaking_changes(descriptor_set(tmp_path, "old", RELEASE), descriptor_set(tmp_path, "new", RELEASE.replace(old, new)))


@pytest.mark.parametrize("old, new, expected", [
    ("  string name = 2;\n", "", "shop.v1.Item: field 2 `name` was removed without `reserved 2; reserved \"name\";`"),
    ("  string name = 2;\n", "  reserved 2;\n", "shop.v1.Item: field 2 `name` was removed without `reserved \"name\";`"),
    ("int64 price = 3;", "string price = 3;", "shop.v1.Item: field 3 `price` changed type from int64 to string"),
    ("string name = 2;", "string title = 2;", "shop.v1.Item: field 2 `name` was renamed to `title`"),
    ("repeated string tags = 4;", "string tags = 4;", "shop.v1.Item: field 4 `tags` changed cardinality from repeated to singular"),
    ("int64 price = 3;", "optional int64 price = 3;", "shop.v1.Item: field 3 `price` changed cardinality from singular to optional"),
    ("map<string, int32> stock = 6;", "repeated int32 stock = 6;", "shop.v1.Item: field 6 `stock` changed type"),
    ("oneof origin { string country = 7; string region = 8; }", "string country = 7; string region = 8;",
     "shop.v1.Item: field 7 `country` moved from oneof `origin` to `-`"),
    ("  reserved 9;\n", "  reserved 9;\n  bool flag = 10;\n  bool reused = 9;\n".replace("  reserved 9;\n", "", 1),
     "shop.v1.Item: field 9 `reused` takes a number the last release reserved"),
    ("COLOUR_BLUE = 2;", "", "shop.v1.Colour: value 2 `COLOUR_BLUE` was removed without `reserved 2; reserved \"COLOUR_BLUE\";`"),
    ("COLOUR_BLUE = 2;", "COLOUR_AZURE = 2;", "shop.v1.Colour: value 2 `COLOUR_BLUE` was renamed to `COLOUR_AZURE`"),
    ("  rpc GetItem(GetItemRequest) returns (Item);\n", "", "shop.v1.Shop/GetItem: the method was removed"),
    ("returns (stream Item)", "returns (Item)", "shop.v1.Shop/WatchItem: whether it streams changed"),
    ("rpc GetItem(GetItemRequest) returns (Item);", "rpc GetItem(Item) returns (Item);",
     "shop.v1.Shop/GetItem: the request type changed from shop.v1.GetItemRequest to shop.v1.Item"),
    ("service Old { rpc Ping(GetItemRequest) returns (GetItemRequest); }", "", "shop.v1.Old: the service was removed"),
])
def test_flags(tmp_path, old, new, expected):
    found = breaks(tmp_path, old, new)
    assert any(line.startswith(expected) for line in found), found


@pytest.mark.parametrize("old, new", [
    ("  string name = 2;\n", '  reserved 2;\n  reserved "name";\n'),
    ("  reserved 9;\n", "  reserved 9;\n  bool on_sale = 10;\n"),
    ("COLOUR_BLUE = 2;", "COLOUR_BLUE = 2; COLOUR_GREEN = 3;"),
    ("service Old {", "service New { rpc Ping(GetItemRequest) returns (GetItemRequest); }\nservice Old {"),
    ("rpc GetItem(GetItemRequest) returns (Item);", "rpc GetItem(GetItemRequest) returns (Item);\n  rpc CountItems(GetItemRequest) returns (GetItemRequest);"),
    ("message GetItemRequest", "message Extra { string id = 1; }\nmessage GetItemRequest"),
])
def test_passes_compatible_changes(tmp_path, old, new):
    assert breaks(tmp_path, old, new) == []


def test_the_proto_files_are_compatible_with_the_last_release():
    result = subprocess.run([str(ROOT / "Proto" / "check-breaking.sh")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
