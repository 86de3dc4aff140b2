"""``python -m app.ship_pictures``: draw the pictures of every view's default selection (and of the warm-up's next
steps) and ship them under ``assets/pictures``, so that a freshly started dashboard shows them without drawing them
(:func:`app.warmup.ship_pictures`). Run it after ``python -m interp_core ship-results`` whenever the shipped models,
their results or the drawing code change; a picture whose key no longer matches is simply drawn again."""
import sys
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from app.warmup import ship_pictures

    shipped = ship_pictures()
    size = sum(Path(f).stat().st_size for f in shipped["files"])
    print(f"Shipped {len(shipped['files'])} pictures ({size / 1e6:.1f} MB) in {Path(shipped['files'][0]).parent if shipped['files'] else '-'}.")
    for view, error in shipped["errors"].items():
        print(f"  {view}: {error}", file=sys.stderr)
    sys.exit(1 if shipped["errors"] else 0)
