namespace RuleMail.Crypto;

/// <summary>
/// A resource limit was hit while an OpenPGP message was read (see <see cref="PgpInflation"/>). It derives from
/// <see cref="IOException"/> because it is thrown from inside streams BouncyCastle reads; it never leaves
/// <see cref="PgpIncoming"/>, which turns it into a failure result with <see cref="Exception.Message"/> as the comment.
/// </summary>
internal sealed class PgpLimitException : IOException
{
    public PgpLimitException()
    {
    }

    public PgpLimitException(string comment)
        : base(comment)
    {
    }

    public PgpLimitException(string comment, Exception inner)
        : base(comment, inner)
    {
    }
}
