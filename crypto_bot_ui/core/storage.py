"""Where collectstatic puts the static files, and how WhiteNoise serves them."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from urllib.parse import urldefrag

from whitenoise.storage import CompressedManifestStaticFilesStorage

_HASHED = re.compile(r"(?P<stem>.+)\.[0-9a-f]{12}(?P<ext>\.[^./]+)")
"""A name as the manifest storage hashes it: format.js → format.0123456789ab.js."""


class StaticStorage(CompressedManifestStaticFilesStorage):
    """Content-hashed names (cached for good by browsers) with gzip copies, and ES module imports
    (`import … from "./format.js"`) rewritten to the hashed names, so a module never loads a stale
    neighbour."""

    support_js_module_import_aggregation = True

    def url_converter(
        self, name: str, hashed_files: dict[str, str], template: str | None = None
    ) -> Callable[[re.Match[str]], str]:
        """Django's converter, except for a URL that already names a hashed file: it stays.

        Django's module patterns overlap: `import "./a.js";` runs on into a later `export … from
        "./b.js";`, so b's URL is matched twice, and hashing the hashed name again would point the
        import at a file that does not exist (or fail collectstatic).
        """
        convert = super().url_converter(name, hashed_files, template)

        def converter(match: re.Match[str]) -> str:
            path = urldefrag(match["url"])[0]
            hashed = _HASHED.fullmatch(path)
            if hashed and not path.startswith(("/", "//")) and ":" not in path:
                original = posixpath.normpath(posixpath.join(posixpath.dirname(name), hashed["stem"] + hashed["ext"]))
                if self.exists(original):
                    return str(match["matched"])
            return str(convert(match))

        return converter
