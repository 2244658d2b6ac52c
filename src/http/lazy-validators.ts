/**
 * Fastify's own Ajv validators, compiled the first time a route is called rather than at start.
 * The REST surface has a schema for the body, query string and path of some fifty operations;
 * compiled up front they cost the gateway about 25 MB of resident memory, most of it for routes a
 * deployment never calls. The validation itself is unchanged: the same compiler and options.
 */
import AjvCompiler from '@fastify/ajv-compiler';

type BuildCompiler = ReturnType<typeof AjvCompiler>;
type Validate = ReturnType<ReturnType<BuildCompiler>>;

export const buildLazyValidator = ((externalSchemas, options) => {
  const compile = AjvCompiler()(externalSchemas, options);
  return (route) => {
    let validate: Validate | undefined;
    // Fastify reads a failed validation's errors from the function it was given.
    const lazy = ((data: unknown, context?: unknown) => {
      validate ??= compile(route);
      const valid = (validate as (data: unknown, context?: unknown) => boolean)(data, context);
      lazy.errors = validate.errors;
      return valid;
    }) as Validate;
    return lazy;
  };
}) as BuildCompiler;
