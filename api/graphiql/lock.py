"""GraphiQL's lockfile: the npm packages its page runs, pinned by version and integrity.

Each package is fetched from the npm registry by npm itself (``assets.install``), checked
against ``integrity`` (the sha512 of the tarball, as in a package-lock.json), and only the
files listed here are taken from it, each checked again against its own ``sri`` (the sha384
that the page's ``integrity`` attributes carry, so the browser refuses a changed file too).

These are the versions and files Strawberry's page loads from a CDN (its ``sri`` values are
the same), minus js-cookie: this service takes no CSRF cookie. GraphiQL 3 is the last line
with browser bundles (UMD); from 4 on it ships only ES modules for a bundler.

To move to other versions: ``npm pack --json NAME@VERSION`` prints the tarball's integrity;
``openssl dgst -sha384 -binary FILE | base64`` gives a file's sri.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class File:
    path: str  # inside the package (the tarball's ``package/`` folder)
    sri: str
    size: int

    @property
    def kind(self) -> str:
        return "stylesheet" if self.path.endswith(".css") else "script"


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    integrity: str
    files: tuple[File, ...]

    @property
    def spec(self) -> str:
        return f"{self.name}@{self.version}"


# In the order the page loads them: React before GraphiQL, GraphiQL before its plugin.
PACKAGES: tuple[Package, ...] = (
    Package(
        "react",
        "18.2.0",
        "sha512-/3IjMdb2L9QbBdWiW5e3P2/npwMBaU9mHCSCUzNln0ZCYbcfTsGbTJrU/kGemdH2IWmB2ioZ+zkxtmq6g09fGQ==",
        (
            File(
                "umd/react.production.min.js",
                "sha384-tMH8h3BGESGckSAVGZ82T9n90ztNXxvdwvdM6UoR56cYcf+0iGXBliJ29D+wZ/x8",
                10737,
            ),
        ),
    ),
    Package(
        "react-dom",
        "18.2.0",
        "sha512-6IMTriUmvsjHUjNtEDudZfuDQUoWXVxKHhlEGSk81n4YFS+r/Kl99wXiwlVXtPBtJenozv2P+hxDsw9eA7Xo6g==",
        (
            File(
                "umd/react-dom.production.min.js",
                "sha384-bm7MnzvK++ykSwVJ2tynSE5TRdN+xL418osEVF2DE/L/gfWHj91J2Sphe582B1Bh",
                131882,
            ),
        ),
    ),
    Package(
        "graphiql",
        "3.8.3",
        "sha512-cuPDYtXVKV86Pu5PHBX642Odi/uVEE2y1Jxq5rGO/Qy1G2lRp7ZZ7a/T30RzxhuLSWo9zUbzq0P3U49//H0Ugw==",
        (
            File(
                "graphiql.min.css",
                "sha384-Mq3vbRBY71jfjQAt/DcjxUIYY33ksal4cgdRt9U/hNPvHBCaT2JfJ/PTRiPKf0aM",
                425367,
            ),
            File(
                "graphiql.min.js",
                "sha384-HbRVEFG0JGJZeAHCJ9Xm2+tpknBQ7QZmNlO/DgZtkZ0aJSypT96YYGRNod99l9Ie",
                3513580,
            ),
        ),
    ),
    Package(
        "@graphiql/plugin-explorer",
        "1.0.2",
        "sha512-9j+kg2UjtLZD5EBmGjeWHkoVVxtbShYg2DzbUVebibnZYZM/iMBEF4vaccXJIAm5KaomIPLx0aoNs4LbODyc3Q==",
        (
            File(
                "dist/style.css",
                "sha384-5DFJlDPW2tSATRbM8kzoP1j194jexLswuNmClWoRr2Q0x7R68JIQzPHZ02Faktwi",
                755,
            ),
            File(
                "dist/index.umd.js",
                "sha384-2oonKe47vfHIZnmB6ZZ10vl7T0Y+qrHQF2cmNTaFDuPshpKqpUMGMc9jgj9MLDZ9",
                46112,
            ),
        ),
    ),
)
