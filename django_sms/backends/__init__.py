"""SMS backends: one module per provider, each naming its class ``SmsBackend``."""
