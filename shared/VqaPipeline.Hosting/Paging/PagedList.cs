using Microsoft.AspNetCore.OpenApi;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;

namespace VqaPipeline.Hosting.Paging;

/// <summary>
/// Marks an endpoint that takes a <see cref="PageRequest{TKey}"/>: it binds <c>limit</c> and <c>cursor</c> itself, which
/// the OpenAPI document generator cannot see, so <see cref="PagedListOpenApi.AddVqaOpenApi"/> writes them in.
/// </summary>
public sealed class PagedList
{
    public static readonly PagedList Marker = new();

    private PagedList()
    {
    }
}

public static class PagedListOpenApi
{
    /// <summary>The service's OpenAPI document (<c>/openapi/v1.json</c>), paged lists' query parameters included.</summary>
    public static IServiceCollection AddVqaOpenApi(this IServiceCollection services) =>
        services.AddOpenApi(options => options.AddOperationTransformer((operation, context, _) =>
        {
            if (context.Description.ActionDescriptor.EndpointMetadata.Contains(PagedList.Marker))
            {
                operation.Parameters ??= [];
                operation.Parameters.Add(new OpenApiParameter
                {
                    Name = "limit",
                    In = ParameterLocation.Query,
                    Description = $"Items per page, 1 to {Paging.MaxLimit} (default {Paging.DefaultLimit}).",
                    Schema = new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32" },
                });
                operation.Parameters.Add(new OpenApiParameter
                {
                    Name = "cursor",
                    In = ParameterLocation.Query,
                    Description = "The nextCursor of the page before, unchanged; none for the first page.",
                    Schema = new OpenApiSchema { Type = JsonSchemaType.String },
                });
            }
            return Task.CompletedTask;
        }));
}
