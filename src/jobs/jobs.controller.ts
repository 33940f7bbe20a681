import { Body, Controller, Delete, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { catalogueParamsSchema } from '../catalogue/catalogue.dto';
import { ApiKeyGuard } from '../common/api-key.guard';
import { ZodValidationPipe } from '../common/zod-validation.pipe';
import { ReindexQueue } from './reindex.queue';

const TEMPLATE_FIELD =
  /\{(id|title|description|categories|tags|price|available|imageUrl|createdAt|attributes\.[A-Za-z0-9_.-]+)\}/;

const reindexBodySchema = z
  .object({
    model: z.string().min(1).max(200).optional(),
    textTemplate: z
      .string()
      .max(2000)
      .refine(
        (t) => TEMPLATE_FIELD.test(t),
        'must contain at least one {field} placeholder, e.g. "{title}. {categories}"',
      )
      .optional(),
  })
  .strict();

const jobParamsSchema = z.object({ id: z.string().regex(/^[A-Za-z0-9_.-]{1,200}$/, 'is not a job id') });

@ApiTags('jobs')
@ApiBearerAuth()
@UseGuards(ApiKeyGuard)
@Controller('v1')
export class JobsController {
  constructor(private readonly reindex: ReindexQueue) {}

  /** Re-embeds the catalogue into a new generation (optionally with another model or text template). */
  @Post('catalogues/:catalogue/reindex')
  @HttpCode(202)
  async start(
    @Param(new ZodValidationPipe(catalogueParamsSchema, 'path')) params: { catalogue: string },
    @Body(new ZodValidationPipe(reindexBodySchema, 'body'))
    body: z.infer<typeof reindexBodySchema> | undefined,
  ) {
    return this.reindex.start(params.catalogue, body ?? {});
  }

  @Get('jobs/:id')
  async get(@Param(new ZodValidationPipe(jobParamsSchema, 'path')) params: { id: string }) {
    return this.reindex.get(params.id);
  }

  @Delete('jobs/:id')
  async cancel(@Param(new ZodValidationPipe(jobParamsSchema, 'path')) params: { id: string }) {
    return this.reindex.cancel(params.id);
  }
}
