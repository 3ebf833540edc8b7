"""Send the messages in the payments table's outbox, read from the table's DynamoDB stream."""

from chalice import Chalice

from shared.outbox import publish

app = Chalice(app_name="publish-payments-events")


@app.on_dynamodb_record(stream_arn="payments-table-stream", batch_size=100)
def publish_events(event):
    return publish(event)
