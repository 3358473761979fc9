#!/usr/bin/env python3
"""Writes the text files of the hostile-input corpus, and expected.json:
for each file, what the one tabular reader must make of it (its rows with
their physical lines and row problems, or the error that refuses the file
and the line it names).

    python3 tests/hostile/make_text.py

Checked by crates/table/tests/corpus.rs; the fuzzer (bench/fuzz_table.sh)
starts from these files too.
"""

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
FILES = {}
EXPECTED = {}


def case(name, data, expected):
    FILES[name] = data if isinstance(data, bytes) else data.encode("utf-8")
    EXPECTED[name] = expected


def rows(*lines):
    """Rows read: [line, problem kind or None] for each data row."""
    return {"rows": [list(x) for x in lines]}


def error(kind, line):
    return {"error": kind, "line": line}


TEXT = "respondent_id,province,note\n京-R1,11,城镇\n粤-R2,44,\"乡村, 山区\"\n"
case("utf8.csv", TEXT, rows((2, None), (3, None)))
case("bom.csv", b"\xef\xbb\xbf" + TEXT.encode(), rows((2, None), (3, None)))
case("crlf.csv", TEXT.replace("\n", "\r\n"), rows((2, None), (3, None)))
case("gbk.csv", TEXT.encode("gbk"), rows((2, None), (3, None)))
# U+20000 (CJK Extension B) takes four bytes in GB18030.
case("gb18030_four_byte.csv", "id,name\n1,\U00020000\n".encode("gb18030"), rows((2, None)))
case("utf16le.csv", b"\xff\xfe" + TEXT.encode("utf-16-le"), rows((2, None), (3, None)))
case("utf16be.csv", b"\xfe\xff" + TEXT.encode("utf-16-be"), rows((2, None), (3, None)))
case(
    "quoted_breaks.csv",
    "id,note\r\n1,\"two\r\nlines\"\r\n2,\"say \"\"hi\"\"\"\r\n3,x\r\n",
    rows((2, None), (4, None), (5, None)),
)
case("quote_unterminated.csv", "id,note\n1,a\n2,\"open\n3,c\n4,d\n", error("unterminated_quote", 3))
case("stray_quote.csv", "id,note\n1,ab\"c\n2,ok\n", rows((2, "stray_quote"), (3, None)))
case("text_after_quote.csv", "id,note\n1,\"ab\"c\n", rows((2, "text_after_quote")))
case("nul.csv", "id,note\n1,a\x00b\n2,ok\n", rows((2, "control_character"), (3, None)))
case("lone_cr.csv", "id,note\n1,a\rb\n2,ok\n", rows((2, "control_character"), (3, None)))
case("ragged.csv", "id,a,b\n1,2\n2,3,4,5\n3,4,5\n", rows((2, "field_count"), (3, "field_count"), (4, None)))
case("blank_lines.csv", "id\n\n1\n\n\n2\n", rows((3, None), (6, None)))
case("duplicate_column.csv", "id,weight,weight\n1,2,3\n", error("duplicate_column", 1))
case("empty_column_name.csv", "id,,b\n1,2,3\n", error("empty_column_name", 1))
case("empty.csv", "", error("empty", 0))
case("not_utf8.csv", "id,note\n1,ok\n".encode() + b"2,\xff\xfe\n", error("encoding", 3))
case("huge_field.csv", "id,note\n1,\"" + "x," * 131072 + "\"\n2,y\n", rows((2, None), (3, None)))
wide = 100_000
case(
    "wide_header.csv",
    ",".join(f"c{i}" for i in range(wide)) + "\n" + ",".join(str(i % 7) for i in range(wide)) + "\n",
    rows((2, None)),
)

# Found by the fuzzer (bench/fuzz_table.sh): a zip whose sheet's cell
# references overflow the spreadsheet library's arithmetic. Not written
# here: the file is kept as found (fuzz_calamine_overflow.xlsx).
EXPECTED["fuzz_calamine_overflow.xlsx"] = error("spreadsheet", 0)

if __name__ == "__main__":
    for name, data in FILES.items():
        (HERE / name).write_bytes(data)
    (HERE / "expected.json").write_text(json.dumps(EXPECTED, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {len(FILES)} files and expected.json in {HERE}")
