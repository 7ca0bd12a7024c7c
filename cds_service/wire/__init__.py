"""What crosses the wire: request and response models, service definitions, feedback, OpenAPI, errors."""
