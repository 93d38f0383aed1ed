"""collectstatic with the site's storage: hashed names, gzip copies, ES module imports rewritten."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

from django.core.management import call_command
from django.test import override_settings

MODULE = '''import { money } from "./format.js";
import * as fmt from "./format.js";
import "./format.js";
export { money } from "./format.js";
const later = () => import("./format.js");
'''


def test_collectstatic_hashes_compresses_and_points_modules_at_hashed_names(tmp_path: Path) -> None:
    source, root = tmp_path / "source", tmp_path / "root"
    (source / "app").mkdir(parents=True)
    (source / "app" / "format.js").write_text("export const money = (v) => v;\n")
    (source / "app" / "main.js").write_text(MODULE)
    storages = {"default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
                "staticfiles": {"BACKEND": "crypto_bot_ui.core.storage.StaticStorage"}}
    with override_settings(STATIC_ROOT=root, STATICFILES_DIRS=[source], STORAGES=storages,
                           STATICFILES_FINDERS=["django.contrib.staticfiles.finders.FileSystemFinder"]):
        call_command("collectstatic", "--noinput", verbosity=0)
    paths = json.loads((root / "staticfiles.json").read_text())["paths"]
    hashed_format, hashed_main = paths["app/format.js"], paths["app/main.js"]
    assert re.fullmatch(r"app/format\.[0-9a-f]{12}\.js", hashed_format)
    assert re.fullmatch(r"app/main\.[0-9a-f]{12}\.js", hashed_main)
    main = (root / hashed_main).read_text()
    name = hashed_format.removeprefix("app/")
    assert main.count(f'"./{name}"') == 5, main  # every kind of import names the hashed neighbour
    assert '"./format.js"' not in main
    assert gzip.decompress((root / f"{hashed_main}.gz").read_bytes()).decode() == main
