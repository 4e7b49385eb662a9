// Example: what YAML cannot say. An invoice (a PDF attachment whose name mentions "invoice" or
// "rechnung") that arrives unsigned from outside the organisation, or whose total in the text is
// above 10,000, goes to a person before anything else happens, and the finance webhook hears of it.
// Copy this file into rules/ to use it.
function decide(message) {
  if (message.direction !== "incoming") {
    return null;
  }

  var invoice = message.attachments.some(function (a) {
    return a.type === "application/pdf" && /invoice|rechnung/i.test(a.name || "");
  });
  if (!invoice) {
    return null;
  }

  var external = !message.from || message.from.domain !== "rulemail.test";
  var unsigned = !message.security || !message.security.sign || !message.security.sign.success;
  var amounts = (message.text.match(/\d{1,3}(?:[.,]\d{3})*(?:[.,]\d{2})?/g) || []).map(function (s) {
    return parseFloat(s.replace(/[.,](?=\d{3})/g, "").replace(",", "."));
  });
  var large = amounts.some(function (n) { return n > 10000; });

  if ((external && unsigned) || large) {
    return {
      flag: "invoice-review",
      tag: ["invoice", large ? "large-amount" : "unsigned-invoice"],
      webhook: "https://tickets.rulemail.test/hooks/finance",
    };
  }

  return { tag: "invoice" };
}
