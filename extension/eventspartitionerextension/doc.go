// Package eventspartitionerextension provides the eventspartitioner
// extension: a Kafka record partitioner for the kafka exporter
// (record_partitioner::extension) that sends the messages of event bucket b
// to partition b mod n, so that with partition_buckets equal to the topic's
// partition count every partition gets exactly one bucket.
package eventspartitionerextension // import "github.com/otelcol-events/otelcol-events/extension/eventspartitionerextension"
