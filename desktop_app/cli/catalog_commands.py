"""Catalog upkeep commands: doctor (check, and copy what is readable into a new catalog) and gc."""

from __future__ import annotations

import sys

from desktop_app.errors import UserError

from .app import command, print_json


def _home():
    from desktop_app.catalog.paths import default_home
    return default_home()


@command("doctor", "Check the catalog for damage (database, store files); --repair copies what is readable into "
                   "a new catalog beside it. Exit code 1 when damage is found.")
def _doctor(p):
    p.add_argument("--repair", action="store_true",
                   help="copy every readable row and the files they use into <catalog>.repaired-<time> (the "
                        "catalog itself is only read)")
    p.add_argument("--content", action="store_true",
                   help="also hash every store file and compare it with its name (reads the whole store)")
    p.add_argument("--json", action="store_true", help="print JSON")

    def run(a):
        from desktop_app.catalog import doctor
        home = _home()
        report = doctor.check_catalog(home, content=a.content)
        repaired = None
        if a.repair:
            repaired = doctor.repair_catalog(home, progress=None if a.json else
                                             (lambda msg: print(f"  {msg}…", file=sys.stderr)))
        if a.json:
            print_json({**report.to_json(), "repair": repaired.to_json() if repaired else None})
        else:
            print(doctor.format_report(report))
            if repaired is not None:
                print(doctor.format_repair(repaired))
        return 0 if report.ok else 1
    p.set_defaults(func=run)


@command("gc", "Delete store files nothing references, temporary files of writes that never finished (a killed "
               "import's), and the scratch folders finished jobs left (checkpoints of trainings that succeeded). "
               "No store file is deleted while another process writes into the store.")
def _gc(p):
    p.add_argument("--dry-run", action="store_true", help="only count what would be deleted")
    p.add_argument("--json", action="store_true", help="print JSON")

    def run(a):
        from desktop_app.catalog import Catalog
        from desktop_app.catalog.catalog import DB_NAME
        home = _home()
        if not (home / DB_NAME).exists():
            raise UserError(f"there is no catalog at {home}")
        cat = Catalog(home)
        try:
            res = cat.garbage_collect(dry_run=a.dry_run)
        finally:
            cat.close()
        if a.json:
            print_json(res)
        else:
            verb = "would delete" if a.dry_run else "deleted"
            if res["busy"]:
                print("another process is writing into the store (an import?): no store file deleted; run gc again "
                      "when it has finished")
            else:
                print(f"{verb} {res['removed']} file(s) ({res['temp_files']} temporary), "
                      f"{res['freed_bytes'] - res['scratch_bytes']} bytes; {res['kept']} referenced file(s) kept")
            print(f"{verb} {res['scratch_folders']} scratch folder(s) of finished jobs, {res['scratch_bytes']} bytes")
        return 0
    p.set_defaults(func=run)
