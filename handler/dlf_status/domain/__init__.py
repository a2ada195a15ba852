"""The pure core: contract, validation report, normalisation, snapshot naming. No I/O."""
