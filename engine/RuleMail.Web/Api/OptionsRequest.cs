namespace RuleMail.Web.Api;

/// <summary>The body of <c>POST /api/v1/options</c>: who a message being composed is from and to.</summary>
/// <param name="Type">The security type the composer switched to, <c>smime</c> or <c>pgp</c> (taken when it can sign or encrypt); null for the composer's choice.</param>
/// <param name="Account">The account it goes out from (its name or address); default: the account whose address is <paramref name="From"/>.</param>
public sealed record OptionsRequest(string? From, string[]? To, string[]? Cc, string[]? Bcc, string? Account, string? Type = null);
