"""The message bus: how a service consumes its topics and what it promises about each record.

What it guarantees:
- Each consumed record is applied at least once and, through the ledger, has its effects once;
  one key's (complaint's) records are applied in their order, never two of one key in one group.
- A poll's records of different keys are applied in one `UnitOfWork.group`, handed to every
  handler; a group that fails is undone and applied again (write conflicts) or record by record,
  where a repeat, a rejected message and a bug are told apart.
- A record no handler can apply (invalid, unknown, oversized, rejected, failing three times) is
  parked on `<topic>.dlq` with the reason and its origin; the consumer goes on. While the store is
  unreachable nothing is skipped: the handler retries in place. Anything else rewinds the poll.
- A service's consumers take turns on a complaint (`KeyGate`, one per service runtime).
"""

from shared.bus.broker import create_broker, document_publisher, group_of, make_publish
from shared.bus.consumer import Consumer, Handler, Record
from shared.bus.deadletter import Rejected, dead_letter
from shared.bus.documents import asyncapi_document, document_channel
from shared.bus.keygate import KeyGate
from shared.bus.membership import start_broker
from shared.bus.partitions import partition_of

__all__ = ["Consumer", "Handler", "KeyGate", "Record", "Rejected", "asyncapi_document", "create_broker",
           "dead_letter", "document_channel", "document_publisher", "group_of", "make_publish", "partition_of",
           "start_broker"]
