namespace RuleMail.Json;

/// <summary>A value before and after a retry judged a message again; <see cref="After"/> is null when it was not judged again.</summary>
public sealed record BeforeAfter<T>(T Before, T After);
