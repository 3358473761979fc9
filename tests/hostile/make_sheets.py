#!/usr/bin/env python3
"""Writes the spreadsheet files of the hostile-input corpus.

    pip install openpyxl==3.1.5 odfpy==1.4.1 xlwt==1.3.0
    python3 tests/hostile/make_sheets.py

cells.xlsx, cells.xls and cells.ods hold the same table on their first sheet
("answers"): codes typed as text with leading zeros, a year stored as a
number (Excel keeps every number as a float), a fraction, a date, Chinese
text, an empty row, and a cell holding the error #N/A; a second sheet
("第二页") holds one row of its own. What each cell must read as is in
crates/table/tests/sheet.rs.
"""

import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent

HEADER = ["respondent_id", "code", "birth_year", "weight", "interviewed", "note"]
ROWS = [
    ["京-R0000001", "007", 1985, 1.5, datetime.date(2026, 12, 6), "城镇"],
    ["京-R0000002", "010", 1990.0, 2, datetime.date(2026, 1, 31), ""],
    None,  # an empty row: skipped, its number still counts
    ["京-R0000004", "#N/A", 2001, 0.25, datetime.date(2026, 2, 1), "乡村"],
]


def xlsx():
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "answers"
    sheet.append(HEADER)
    for row in ROWS:
        if row is None:
            sheet.append([])
            continue
        sheet.append(row)
        r = sheet.max_row
        sheet.cell(r, 2).data_type = "s"  # codes are text
        sheet.cell(r, 5).number_format = "yyyy-mm-dd"
        if row[1] == "#N/A":
            sheet.cell(r, 2).value = "#N/A"
            sheet.cell(r, 2).data_type = "e"
    second = book.create_sheet("第二页")
    second.append(["respondent_id", "code"])
    second.append(["粤-R0000009", "044"])
    book.save(HERE / "cells.xlsx")


def ods():
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableRow, TableCell
    from odf.text import P

    doc = OpenDocumentSpreadsheet()

    def cell(value):
        if isinstance(value, datetime.date):
            c = TableCell(valuetype="date", datevalue=value.isoformat())
            c.addElement(P(text=value.isoformat()))
        elif isinstance(value, (int, float)):
            c = TableCell(valuetype="float", value=value)
            c.addElement(P(text=str(value)))
        else:
            c = TableCell(valuetype="string")
            c.addElement(P(text=value))
        return c

    def table(name, rows):
        t = Table(name=name)
        for row in rows:
            tr = TableRow()
            for value in row or []:
                tr.addElement(cell(value))
            t.addElement(tr)
        doc.spreadsheet.addElement(t)

    # ODS has no error cells written by odfpy: the #N/A row keeps its text.
    table("answers", [HEADER] + [r if r is None else [v if v != "#N/A" else "n/a" for v in r] for r in ROWS])
    table("第二页", [["respondent_id", "code"], ["粤-R0000009", "044"]])
    doc.save(str(HERE / "cells.ods"))


def xls():
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("answers")
    date = xlwt.easyxf(num_format_str="yyyy-mm-dd")
    for c, name in enumerate(HEADER):
        sheet.write(0, c, name)
    for r, row in enumerate(ROWS, start=1):
        for c, value in enumerate(row or []):
            if value == "#N/A":
                sheet.write(r, c, xlwt.Formula("NA()"))
            elif isinstance(value, datetime.date):
                sheet.write(r, c, value, date)
            else:
                sheet.write(r, c, value)
    second = book.add_sheet("第二页")
    second.write(0, 0, "respondent_id")
    second.write(0, 1, "code")
    second.write(1, 0, "粤-R0000009")
    second.write(1, 1, "044")
    book.save(str(HERE / "cells.xls"))


if __name__ == "__main__":
    xlsx()
    xls()
    ods()
    print("wrote", HERE / "cells.xlsx", HERE / "cells.xls", HERE / "cells.ods")
