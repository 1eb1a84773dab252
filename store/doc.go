// Package store keeps pmsync's durable state in one bbolt file: links and
// their ref index, intents, watermarks, webhook deliveries, the audit log,
// digest/reminder send records and small component state.
package store
