"""Use cases of the customer portal. Each takes a session and keyword arguments; only flushes.

Everything the portal shows or changes is reached through the other features' services with
:data:`PORTAL`, an actor that stands for "the customer, through the portal": the portal itself
keeps every read and write to the signed-in customer's own objects. Each object named in a
URL (a membership, a case, an attachment, a privacy request) is checked to belong to that
customer, and anything else is "not found", whether it exists or not.

The package's modules: ``_common`` (the portal's actor, the customer's name and address),
``sign_in`` (links and sessions), ``space`` (what the customer sees and does: loyalty,
requests, consents, their data's export) and ``privacy`` (privacy requests, the staff's queue,
the portal's GDPR hooks). Callers use the names re-exported here.
"""

from egards.portal.service._common import LINK_KEY as LINK_KEY
from egards.portal.service._common import PARIS as PARIS
from egards.portal.service._common import PORTAL as PORTAL
from egards.portal.service._common import PRIVACY_KEY as PRIVACY_KEY
from egards.portal.service._common import VISIBLE_KINDS as VISIBLE_KINDS
from egards.portal.service._common import Me as Me
from egards.portal.service._common import me as me
from egards.portal.service.privacy import ask_privacy as ask_privacy
from egards.portal.service.privacy import decide_privacy as decide_privacy
from egards.portal.service.privacy import erase_customer_data as erase_customer_data
from egards.portal.service.privacy import export_section as export_section
from egards.portal.service.privacy import extend_privacy as extend_privacy
from egards.portal.service.privacy import my_privacy_requests as my_privacy_requests
from egards.portal.service.privacy import privacy_queue as privacy_queue
from egards.portal.service.sign_in import check_link as check_link
from egards.portal.service.sign_in import customer_of_session as customer_of_session
from egards.portal.service.sign_in import end_session as end_session
from egards.portal.service.sign_in import redeem_link as redeem_link
from egards.portal.service.sign_in import request_link as request_link
from egards.portal.service.space import Card as Card
from egards.portal.service.space import Expiring as Expiring
from egards.portal.service.space import attachment as attachment
from egards.portal.service.space import change_consent as change_consent
from egards.portal.service.space import consents as consents
from egards.portal.service.space import conversation as conversation
from egards.portal.service.space import export as export
from egards.portal.service.space import loyalty_cards as loyalty_cards
from egards.portal.service.space import my_cases as my_cases
from egards.portal.service.space import open_request as open_request
from egards.portal.service.space import promise as promise
from egards.portal.service.space import reply as reply
from egards.portal.service.space import statement as statement
