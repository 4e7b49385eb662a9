using RuleMail.Crypto;

namespace RuleMail.Core.Tests.Crypto;

/// <summary>The one parser of the security type: both spellings, any case; anything else is an error, never a default.</summary>
public sealed class SecurityTypesTests
{
    [Theory]
    [InlineData("smime", SecurityType.Smime)]
    [InlineData(" S/MIME ", SecurityType.Smime)]
    [InlineData("SMIME", SecurityType.Smime)]
    [InlineData("pgp", SecurityType.Pgp)]
    [InlineData("OpenPGP", SecurityType.Pgp)]
    public void Both_spellings_in_any_case_are_read(string text, SecurityType expected)
    {
        Assert.True(SecurityTypes.TryParse(text, out var type));
        Assert.Equal(expected, type);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("s-mime")]
    [InlineData("gpg")]
    [InlineData("smime,pgp")]
    public void Anything_else_is_refused(string? text) => Assert.False(SecurityTypes.TryParse(text, out _));

    [Fact]
    public void Each_type_is_written_the_contracts_way_and_the_keys_way()
    {
        Assert.Equal(("S/MIME", "smime"), (SecurityType.Smime.Name(), SecurityType.Smime.Key()));
        Assert.Equal(("PGP", "pgp"), (SecurityType.Pgp.Name(), SecurityType.Pgp.Key()));
    }
}
