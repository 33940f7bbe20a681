import { Body, Controller, Get, HttpCode, Param, Post, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ApiKeyGuard } from '../common/api-key.guard';
import { ZodValidationPipe } from '../common/zod-validation.pipe';
import { catalogueParamsSchema, itemParamsSchema } from '../catalogue/catalogue.dto';
import { configNameSchema } from '../domain/ranking';
import { ingestSchema, type EventLag, type IngestBody, type IngestResult } from './events.dto';
import { EventsService } from './events.service';

const experimentParamsSchema = catalogueParamsSchema.extend({ name: configNameSchema });
const togetherQuerySchema = z.object({
  limit: z.coerce.number().int('must be an integer').min(1).max(100).default(10),
});

@ApiTags('events')
@ApiBearerAuth()
@UseGuards(ApiKeyGuard)
@Controller('v1/catalogues')
export class EventsController {
  constructor(private readonly events: EventsService) {}

  /** 1–1000 events; `eventId` makes a retry idempotent; unknown items are accepted and counted. */
  @Post(':catalogue/events')
  @HttpCode(202)
  async ingest(
    @Param(new ZodValidationPipe(catalogueParamsSchema, 'path')) params: { catalogue: string },
    @Body(new ZodValidationPipe(ingestSchema, 'body')) body: IngestBody,
  ): Promise<IngestResult> {
    return this.events.ingest(params.catalogue, body.events);
  }

  /** How far the signals upkeep is behind ingest. */
  @Get(':catalogue/events/lag')
  async lag(
    @Param(new ZodValidationPipe(catalogueParamsSchema, 'path')) params: { catalogue: string },
  ): Promise<EventLag> {
    return this.events.lag(params.catalogue);
  }

  /** Funnel per variant with a 95% CI on each variant's difference from the first (control). */
  @Get(':catalogue/experiments/:name/report')
  async experimentReport(
    @Param(new ZodValidationPipe(experimentParamsSchema, 'path')) params: { catalogue: string; name: string },
  ) {
    return this.events.experimentReport(params.catalogue, params.name);
  }

  /** The trained item-item model behind the `collaborative` source (version, items, users, when). */
  @Get(':catalogue/models/collaborative')
  async collaborativeModel(
    @Param(new ZodValidationPipe(catalogueParamsSchema, 'path')) params: { catalogue: string },
  ) {
    return this.events.collaborativeModel(params.catalogue);
  }

  /** Retrain now instead of waiting for the worker's schedule; poll GET …/models/collaborative for the new version. */
  @Post(':catalogue/models/collaborative/train')
  @HttpCode(202)
  async trainCollaborative(
    @Param(new ZodValidationPipe(catalogueParamsSchema, 'path')) params: { catalogue: string },
  ): Promise<{ jobId: string }> {
    return this.events.trainCollaborative(params.catalogue);
  }

  @Get(':catalogue/items/:id/bought-together')
  async boughtTogether(
    @Param(new ZodValidationPipe(itemParamsSchema, 'path')) params: { catalogue: string; id: string },
    @Query(new ZodValidationPipe(togetherQuerySchema, 'query')) query: { limit: number },
  ) {
    return { items: await this.events.boughtTogether(params.catalogue, params.id, query.limit) };
  }
}
