"""tuyaio: an asyncio client for the Tuya Cloud OpenAPI."""
