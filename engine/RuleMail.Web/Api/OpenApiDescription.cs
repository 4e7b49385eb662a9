using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace RuleMail.Web.Api;

/// <summary>The OpenAPI document's title, and the bearer token every <c>/api/v1</c> operation needs.</summary>
internal sealed class OpenApiDescription : IOpenApiDocumentTransformer
{
    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Info = new OpenApiInfo
        {
            Title = "RuleMail",
            Version = "v1",
            Description = "Secure mail for ticket systems: the composer's Sign and Encrypt buttons, checking and composing S/MIME and OpenPGP mail, the outbox, the key store and the ledger. Every /api/v1 operation needs 'Authorization: Bearer TOKEN' (rulemail tokens create NAME --role viewer|agent|admin); errors are application/problem+json.",
        };
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes["bearer"] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            Description = "An API token made by rulemail tokens create",
        };
        document.Security ??= [];
        document.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("bearer", document)] = [] });
        return Task.CompletedTask;
    }
}
