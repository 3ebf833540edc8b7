"""Send the messages in the logistics table's outbox, read from the table's DynamoDB stream."""

from chalice import Chalice

from shared.outbox import publish

app = Chalice(app_name="publish-logistics-events")


@app.on_dynamodb_record(stream_arn="logistics-table-stream", batch_size=100)
def publish_events(event):
    return publish(event)
