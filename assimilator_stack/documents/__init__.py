"""What both backends share about stored entities: validation, write operations, the codec,
``only()`` projections, bulk-update values, aggregation and hit building. Imports no backend."""
