namespace RuleMail.Web.Api;

/// <summary>The body of <c>POST /api/v1/compose</c>: a message to build, and the composer's choice of protection.</summary>
/// <param name="Sign">True to sign (refused when impossible), false not to; null lets the rules and defaults decide.</param>
/// <param name="Encrypt">True to encrypt (refused, never sent as plaintext, when impossible), false not to; null lets the rules and defaults decide.</param>
/// <param name="Type"><c>smime</c> or <c>pgp</c>; null for the composer's choice.</param>
public sealed record ComposeRequest(
    string? From,
    string[]? To,
    string[]? Cc,
    string[]? Bcc,
    string? Account,
    string? Subject,
    string? Text,
    string? Html,
    ComposeAttachment[]? Attachments,
    bool? Sign,
    bool? Encrypt,
    string? Type);

/// <summary>One attachment of <see cref="ComposeRequest"/>: its file name, media type (guessed from the name when null) and content, base64 in JSON.</summary>
public sealed record ComposeAttachment(string? Name, string? Type, byte[]? Data);
