using Microsoft.AspNetCore.Builder;
using Microsoft.OpenApi;

namespace RuleMail.Web.Api;

/// <summary>
/// Describes a request body in the OpenAPI document only. <c>.Accepts(...)</c> would also make routing refuse other
/// content types with a bare 415 before the endpoint runs; endpoints that read their body themselves answer that
/// with a problem saying what to send instead.
/// </summary>
internal static class RequestBodyDescription
{
    public static RouteHandlerBuilder DescribesBody(this RouteHandlerBuilder builder, string description, params string[] mediaTypes) =>
        builder.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            operation.RequestBody = new OpenApiRequestBody
            {
                Description = description,
                Content = mediaTypes.ToDictionary(
                    type => type,
                    _ => new OpenApiMediaType { Schema = new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary" } }),
            };
            return Task.CompletedTask;
        });
}
