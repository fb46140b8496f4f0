"""The chapter reproduced: each section's records (``sections``), the run with its verdicts (``reproduce``), the report on disk (``report``, ``figures``)."""
