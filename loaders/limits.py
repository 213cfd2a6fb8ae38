"""Decompression-bomb limits: how far an upload may expand while it is read.

The values come from settings (``PESO_MAX_DECOMPRESSION_RATIO``, ``PESO_MAX_DECOMPRESSED_BYTES``,
``PESO_MAX_COMPRESSION_LAYERS``, ``PESO_MAX_PARQUET_DECODED_RATIO``, ``PESO_MAX_XLSX_CELLS``):
each process that loads files (``peso serve``, ``peso load``, ``peso demo``) calls
``configure(from_settings(settings))`` once at start, and the readers ask ``current()`` when
they open a file. The floors below are not settings: small files of repetitive values
legitimately expand far beyond any ratio.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.settings import Settings

MIN_ALLOWANCE = 64 << 20  # gzip/zip/xlsx: this much is allowed whatever the ratio
MIN_DECODED = 1 << 30     # Parquet: this much decoded is allowed whatever the ratio


@dataclass(frozen=True, slots=True)
class DecodeLimits:
    ratio: int = 100                   # decompressed bytes per compressed byte (gzip, zip, xlsx)
    total: int = 20 << 30              # decompressed or decoded bytes, whatever the file size
    layers: int = 3                    # nested compression layers (.gz in .zip in .gz)
    parquet_ratio: int = 1000          # decoded Arrow bytes per Parquet file byte
    xlsx_cells: int = 50_000_000       # cells of one sheet, empty ones openpyxl fills in included

    def for_compressed(self, size: int) -> int:
        """The most bytes a file of ``size`` compressed bytes may decompress to."""
        return min(self.total, max(MIN_ALLOWANCE, self.ratio * size))

    def for_parquet(self, size: int) -> int:
        """The most Arrow bytes a Parquet file of ``size`` bytes may decode to."""
        return min(self.total, max(MIN_DECODED, self.parquet_ratio * size))

    def rule(self) -> str:
        """The gzip/zip rule, for refusal messages (with the settings that change it)."""
        return (f"the limit is {self.ratio}x (PESO_MAX_DECOMPRESSION_RATIO), at least "
                f"{MIN_ALLOWANCE >> 20} MiB, at most {self.total:,} bytes "
                "(PESO_MAX_DECOMPRESSED_BYTES)")


_current = DecodeLimits()


def from_settings(settings: Settings) -> DecodeLimits:
    return DecodeLimits(ratio=settings.max_decompression_ratio,
                        total=settings.max_decompressed_bytes,
                        layers=settings.max_compression_layers,
                        parquet_ratio=settings.max_parquet_decoded_ratio,
                        xlsx_cells=settings.max_xlsx_cells)


def configure(limits: DecodeLimits) -> None:
    global _current
    _current = limits


def current() -> DecodeLimits:
    return _current
