/**
 * The AWS SDK prints a multi-line NodeVersionSupportWarning on Node < 22 the
 * first time any client is built, i.e. on every `serve`, `tail` or `demo`: noise
 * in a CLI's stderr and in service logs, which no user can act on from there
 * (the README states the supported Node versions). This is the SDK's own switch,
 * read when a client is built; a value the user set stays as it is. Imported
 * first by the CLI entry so it holds before any client exists.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
