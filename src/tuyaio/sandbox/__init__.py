"""An in-memory, strict fake of the Tuya Cloud OpenAPI for tests, benchmarks and the demo."""
